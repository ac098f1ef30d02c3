// The verified-address rule: an account whose email is unproven can sign in, but not take actions that trust its address.
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { users } from "../db/schema.ts";
import { ApiError } from "./problem.ts";
import type { AppEnv } from "./types.ts";

export const emailNotVerified = () =>
  new ApiError(403, {
    code: "EMAIL_NOT_VERIFIED",
    detail: "Verify your email address first (the link we emailed at sign-up, or POST /auth/resend-verification).",
  });

/** 403 EMAIL_NOT_VERIFIED unless user `userId` has verified their address. Call after the route's guarded first query. */
export async function requireVerifiedEmail(c: Context<AppEnv>, userId: string): Promise<void> {
  const [user] = await c.get("services").db.select({ verifiedAt: users.emailVerifiedAt }).from(users).where(eq(users.id, userId));
  if (!user?.verifiedAt) throw emailNotVerified();
}
