// The Postgres client for one request: drizzle over Neon's SQL-over-HTTP driver (one fetch per query or batch).
import { neon } from "@neondatabase/serverless";
import { drizzle, type NeonHttpDatabase } from "drizzle-orm/neon-http";
import type { Config } from "../env.ts";
import { useAppNeonEndpoint } from "./neon-endpoint.ts";
import * as schema from "./schema.ts";

export type Database = NeonHttpDatabase<typeof schema>;

export function createDb(config: Pick<Config, "DATABASE_URL" | "NEON_FETCH_ENDPOINT">): Database {
  // Every request of an isolate shares one env, so this is stable; data sources name theirs per call.
  useAppNeonEndpoint(config.NEON_FETCH_ENDPOINT);
  return drizzle({ client: neon(config.DATABASE_URL), schema });
}
