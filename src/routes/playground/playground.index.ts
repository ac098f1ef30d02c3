// GET /: the playground page, with a strict Content-Security-Policy of its own (a fresh nonce per response). Not in the OpenAPI document.
import { NONCE, secureHeaders } from "hono/secure-headers";
import { createRouter } from "../../lib/create-app.ts";
import { playgroundPage, playgroundScript } from "./playground.page.ts";

/**
 * Only this page's nonce'd inline script and style run, it talks only to its own origin, and it builds its DOM
 * with textContent and createElement, so Trusted Types can forbid every HTML sink (model output is never markup).
 */
const playgroundCsp = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: [NONCE],
    styleSrc: [NONCE],
    connectSrc: ["'self'"],
    imgSrc: ["data:"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
    requireTrustedTypesFor: ["'script'"],
    trustedTypes: ["'none'"],
  },
  // The app-wide secureHeaders sets the rest after this one; only the CSP is this route's own.
  crossOriginResourcePolicy: "cross-origin",
});

export const playground = createRouter().get("/", playgroundCsp, async (c) => {
  c.header("Cache-Control", "no-store");
  return c.html(playgroundPage(c.get("secureHeadersNonce") ?? "", await playgroundScript()));
});
