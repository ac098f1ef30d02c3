// A stand-in for an external OpenID Connect provider (Auth0, Clerk…): serves a JWKS over real HTTP, in Node.
import { exportJWK, generateKeyPair } from "jose";
import { listen, type Listening } from "../../dev/http.ts";

export interface OidcProvider {
  server: Listening;
  issuer: string;
  audience: string;
  jwksUrl: string;
  /** The signing key, for tests to mint the provider's tokens. */
  privateJwk: JsonWebKey & { kid: string };
  /** `GET <server>/stats` tells how many times the JWKS was fetched: the Worker must cache it. */
}

export async function startOidcProvider(): Promise<OidcProvider> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = "test-idp-key-1";
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" }] };
  let fetches = 0;
  const server = await listen(async (req, res) => {
    if (req.url === "/stats") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jwksFetches: fetches }));
      return;
    }
    if (req.url !== "/.well-known/jwks.json") {
      res.writeHead(404).end();
      return;
    }
    fetches++;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(jwks));
  });
  return {
    server,
    issuer: "https://idp.example.test/",
    audience: "datacrafted-test",
    jwksUrl: `${server.url}/.well-known/jwks.json`,
    privateJwk: { ...(await exportJWK(privateKey)), kid } as JsonWebKey & { kid: string },
  };
}
