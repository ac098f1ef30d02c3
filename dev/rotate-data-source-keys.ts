// `npm run data-sources:rotate`: re-seals every data source's credentials, TOTP secret and webhook secret under the first DATA_SOURCE_KEYS key, over DATABASE_URL.
import { neon, neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-http";
import * as schema from "../src/db/schema.ts";
import { rotateDataSourceKeys, rotateTotpSecrets, rotateWebhookSecrets } from "../src/services/data-sources/rotate.ts";
import { parseDataSourceKeys } from "../src/services/data-sources/secrets.ts";

const { DATABASE_URL, NEON_FETCH_ENDPOINT, DATA_SOURCE_KEYS } = process.env;
if (!DATABASE_URL || !DATA_SOURCE_KEYS) {
  console.error("Set DATABASE_URL and DATA_SOURCE_KEYS (the new key first, every older one after it).");
  process.exit(1);
}
const { keys, problems } = parseDataSourceKeys(DATA_SOURCE_KEYS);
if (problems.length > 0) {
  console.error(`DATA_SOURCE_KEYS: ${problems.join("; ")}`);
  process.exit(1);
}
// NEON_FETCH_ENDPOINT only for a proxy (the local gateway); unset, the driver derives Neon's endpoint.
if (NEON_FETCH_ENDPOINT) neonConfig.fetchEndpoint = NEON_FETCH_ENDPOINT;
const db = drizzle({ client: neon(DATABASE_URL), schema });
const report = await rotateDataSourceKeys(db, keys);
console.log(`Re-sealed ${report.rotated} data source(s) under key "${keys[0]!.kid}".`);
const totp = await rotateTotpSecrets(db, keys);
console.log(`Re-sealed ${totp.rotated} TOTP secret(s) under key "${keys[0]!.kid}".`);
const hooks = await rotateWebhookSecrets(db, keys);
console.log(`Re-sealed ${hooks.rotated} webhook secret(s) under key "${keys[0]!.kid}".`);
if (hooks.unreadable.length > 0) {
  console.error(`${hooks.unreadable.length} webhook secret(s) could not be opened (rotate their secrets): ${hooks.unreadable.join(", ")}`);
}
if (report.unreadable.length > 0) {
  console.error(
    `${report.unreadable.length} could not be opened with any configured key (set their credentials again): ${report.unreadable.join(", ")}`,
  );
}
if (totp.unreadable.length > 0) {
  console.error(
    `${totp.unreadable.length} TOTP secret(s) could not be opened (those users must disable and enrol again): ${totp.unreadable.join(", ")}`,
  );
}
if (report.unreadable.length > 0 || totp.unreadable.length > 0 || hooks.unreadable.length > 0) process.exit(2);
