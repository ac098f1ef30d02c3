// `npm run db:migrate`: applies migrations/ to the database at DATABASE_URL (a Neon database, over its HTTP endpoint).
import { applyMigrations } from "./migrate.ts";
import { migrationsFolder } from "./stack.ts";

const connectionString = process.env.DATABASE_URL;
if (!connectionString) {
  console.error("Set DATABASE_URL to the Neon connection string, e.g. DATABASE_URL=postgresql://…neon.tech/neondb npm run db:migrate");
  process.exit(2);
}
const { applied, total } = await applyMigrations({ connectionString, sqlEndpoint: process.env.NEON_FETCH_ENDPOINT, migrationsFolder });
console.log(`migrations: ${applied} applied, ${total} in all`);
