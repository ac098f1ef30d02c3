// The optional settings: every key of src/env.ts's schema that wrangler.toml neither sets ([vars]), binds, nor requires
// ([secrets] required), as an optional string. `wrangler types` (worker-configuration.d.ts) declares all the rest, so a
// key added to the schema is typed here without a second list.
type ConfigKey = keyof import("zod").input<typeof import("./env.ts").configSchema>;
type OptionalSetting = Exclude<ConfigKey, keyof __BaseEnv_Env>;

declare namespace Cloudflare {
  interface Env extends Partial<Record<OptionalSetting, string>> {}
}
