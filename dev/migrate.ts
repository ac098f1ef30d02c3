// Applies drizzle-kit's migrations through the production driver, each migration in one batch transaction.
import { neon, neonConfig } from "@neondatabase/serverless";
import { readMigrationFiles } from "drizzle-orm/migrator";

const lockId = 7_210_417; // any constant: serializes concurrent runners (dev server and tests)

/**
 * drizzle's neon-http migrator runs statements one by one outside a transaction, so a failure
 * leaves a half-applied migration. Here each migration and its journal row commit together; the
 * journal's unique hash makes a migration applied by a concurrent runner a harmless rollback.
 */
export async function applyMigrations(options: {
  connectionString: string;
  /** The local gateway's endpoint; without it, Neon's own (derived from the connection string). */
  sqlEndpoint?: string;
  migrationsFolder: string;
}): Promise<{ applied: number; total: number }> {
  if (options.sqlEndpoint) neonConfig.fetchEndpoint = options.sqlEndpoint;
  const sql = neon(options.connectionString);
  const migrations = readMigrationFiles({ migrationsFolder: options.migrationsFolder });

  await sql.transaction([
    sql`SELECT pg_advisory_xact_lock(${lockId})`,
    sql`CREATE SCHEMA IF NOT EXISTS drizzle`,
    sql`CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint)`,
    sql`CREATE UNIQUE INDEX IF NOT EXISTS __drizzle_migrations_hash_key ON drizzle.__drizzle_migrations (hash)`,
  ]);
  const rows = (await sql`SELECT hash FROM drizzle.__drizzle_migrations`) as { hash: string }[];
  const done = new Set(rows.map((row) => row.hash));

  let applied = 0;
  for (const migration of migrations) {
    if (done.has(migration.hash)) continue;
    try {
      await sql.transaction([
        sql`SELECT pg_advisory_xact_lock(${lockId})`,
        sql`INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (${migration.hash}, ${migration.folderMillis})`,
        ...migration.sql.filter((statement) => statement.trim() !== "").map((statement) => sql.query(statement)),
      ]);
      applied++;
    } catch (error) {
      if ((error as { code?: string }).code !== "23505") throw error;
    }
  }
  return { applied, total: migrations.length };
}
