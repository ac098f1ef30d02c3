// Types for `cloudflare:test`'s env: the Worker's bindings.
declare module "cloudflare:test" {
  interface ProvidedEnv extends Cloudflare.Env {}
}
