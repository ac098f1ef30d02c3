// What sign-in answers instead of tokens when the account has a second factor.
import { z } from "@hono/zod-openapi";

export const MfaChallenge = z
  .object({
    status: z.literal("mfa_required"),
    mfaToken: z.string().openapi({ description: "Send it with a code to POST /auth/mfa; valid for a few minutes" }),
    expiresIn: z.number().int().openapi({ example: 300 }),
    methods: z.array(z.enum(["totp", "recovery_code"])),
  })
  .openapi("MfaChallenge");
