// The Postgres client for one request: drizzle over Neon's SQL-over-HTTP driver (one fetch per query or batch).
import { neon, neonConfig } from "@neondatabase/serverless";
import { drizzle, type NeonHttpDatabase } from "drizzle-orm/neon-http";
import type { Config } from "../env.ts";
import * as schema from "./schema.ts";

export type Database = NeonHttpDatabase<typeof schema>;

export function createDb(config: Pick<Config, "DATABASE_URL" | "NEON_FETCH_ENDPOINT">): Database {
  // The endpoint is global to the driver; every request of an isolate shares one env, so this is stable.
  if (config.NEON_FETCH_ENDPOINT) neonConfig.fetchEndpoint = config.NEON_FETCH_ENDPOINT;
  return drizzle({ client: neon(config.DATABASE_URL), schema });
}
