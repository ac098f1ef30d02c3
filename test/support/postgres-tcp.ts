// TCP data-source test helpers (in workerd): the machine's real Postgres, a throwaway database per test file seeded by the
// file, and a separate connection to read what the source's calls left behind (postgres.js over our own socket).
import postgres from "postgres";
import { inject } from "vitest";
import { openSocket } from "../../src/services/data-sources/postgres-socket.ts";

/** The real Postgres the TCP tests need (REQUIRE_REAL_SERVICES=1 or LOCAL_POSTGRES_URL); null on the embedded stack. */
export const tcpPostgres = () => inject("postgresTcp");

/** A connection of the test's own, not the source's: what it reads is what the database holds. */
export function directSql(url: string) {
  const address = new URL(url);
  const host = address.hostname;
  const port = Number(address.port || 5432);
  return postgres(url, {
    max: 1,
    prepare: false,
    fetch_types: false,
    onnotice: () => {},
    socket: () => openSocket(host, port, "disable"),
  } as postgres.Options<Record<string, never>>);
}

export interface Throwaway {
  name: string;
  /** The database's connection string on the machine's Postgres (or, with `port`, through the proxy on that port). */
  url(port?: number): string;
  /** A separate connection to it. */
  sql: postgres.Sql;
  drop(): Promise<void>;
}

export async function throwawayDatabase(label: string): Promise<Throwaway> {
  const info = tcpPostgres();
  if (!info) throw new Error("TCP data-source tests need a real Postgres (REQUIRE_REAL_SERVICES=1 or LOCAL_POSTGRES_URL)");
  const name = `ds_${label}_${crypto.randomUUID().slice(0, 8)}`;
  const admin = directSql(info.adminUrl);
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = (port?: number) => {
    const address = new URL(info.adminUrl);
    address.pathname = `/${name}`;
    if (port) address.port = String(port);
    return address.toString();
  };
  const sql = directSql(url());
  return {
    name,
    url,
    sql,
    drop: async () => {
      await sql.end({ timeout: 1 });
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end({ timeout: 1 });
    },
  };
}

/** Stops or restarts the proxy in front of Postgres (test/support/tcp-proxy.ts) through the fault control server. */
export async function postgresProxy(action: "stop" | "start") {
  const response = await fetch(`${inject("faultControlUrl")}/postgres-tcp/${action}`, { method: "POST" });
  if (!response.ok) throw new Error(`proxy ${action}: HTTP ${response.status}`);
  await response.body?.cancel();
}
