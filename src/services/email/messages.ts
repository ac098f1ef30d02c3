// The text and HTML of the verification and invitation emails. Names people chose are escaped; tokens travel in the
// link's fragment (#token=…), which browsers never send to a server or in a Referer.
import type { Config } from "../../env.ts";
import type { Role } from "../../db/schema.ts";
import type { Email } from "./send.ts";

const escapeHtml = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#39;");
/** One line, at most 100 characters: a name someone typed must not reshape the subject. */
const oneLine = (text: string) => text.replaceAll(/[\r\n\t]+/g, " ").slice(0, 100);

const buttonStyle = "display:inline-block;padding:8px 16px;background:#2563eb;color:#fff;text-decoration:none;border-radius:6px";

function layout(paragraphs: string[], link: { href: string; label: string }, footer: string): string {
  return [
    '<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#111">',
    ...paragraphs.map((paragraph) => `<p>${paragraph}</p>`),
    `<p><a href="${escapeHtml(link.href)}" style="${buttonStyle}">${escapeHtml(link.label)}</a></p>`,
    `<p style="color:#666;font-size:13px">${footer}</p>`,
    "</body></html>",
  ].join("\n");
}

export function verificationEmail(config: Config, to: string, token: string): Email {
  const link = `${config.APP_URL}/verify-email#token=${token}`;
  const hours = config.EMAIL_VERIFICATION_TTL_HOURS;
  return {
    to,
    subject: "Verify your email address for Datacrafted",
    text: [
      "Confirm that this address is yours to finish setting up your Datacrafted account:",
      "",
      link,
      "",
      `The link works once, for ${hours} hours. If you did not sign up, ignore this email: nothing happens without it.`,
    ].join("\n"),
    html: layout(
      ["Confirm that this address is yours to finish setting up your Datacrafted account."],
      { href: link, label: "Verify my address" },
      `The link works once, for ${hours} hours. If you did not sign up, ignore this email: nothing happens without it.`,
    ),
  };
}

export interface InvitationDetails {
  orgName: string;
  role: Role;
  inviterName: string | null;
  expiresAt: Date;
}

export function invitationEmail(config: Config, to: string, token: string, details: InvitationDetails): Email {
  const link = `${config.APP_URL}/invitations/accept#token=${token}`;
  const who = details.inviterName ? oneLine(details.inviterName) : "Someone";
  const org = oneLine(details.orgName);
  const until = details.expiresAt.toISOString().slice(0, 10);
  const steps = `Sign in (or sign up) with ${to}, verify the address, then accept. The invitation works once, until ${until}.`;
  return {
    to,
    subject: oneLine(`${who} invited you to ${org} on Datacrafted`),
    text: [
      `${who} invited you to join "${org}" on Datacrafted as ${details.role}.`,
      "",
      link,
      "",
      steps,
      "If you did not expect it, ignore this email.",
    ].join("\n"),
    html: layout(
      [`${escapeHtml(who)} invited you to join <strong>${escapeHtml(org)}</strong> on Datacrafted as ${details.role}.`, escapeHtml(steps)],
      { href: link, label: "Accept the invitation" },
      "If you did not expect it, ignore this email.",
    ),
  };
}
