// Upstash runs Lua scripts whose shebang names flags a self-hosted Redis may not know (Redis 7.0 refuses
// `allow-key-locking`, which @upstash/ratelimit sends). The gateway drops such flags before the server sees
// them, and keeps the client's view: scripts are known by the SHA-1 of what the client sent.
import { createHash } from "node:crypto";
import type { Command } from "./backend.ts";

/** Flags every Redis 7.0 accepts; others are dropped. */
const knownFlags = new Set(["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"]);

/** How Redis names a script: the SHA-1 of its source, in hex. */
export const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

export function compatibleScript(source: string): string {
  const match = /^#!lua([^\n]*)\n/.exec(source);
  if (!match) return source;
  const flags =
    /flags=([\w,-]*)/
      .exec(match[1] ?? "")?.[1]
      ?.split(",")
      .filter((flag) => knownFlags.has(flag)) ?? [];
  const shebang = flags.length > 0 ? `#!lua flags=${flags.join(",")}` : "#!lua";
  return `${shebang}\n${source.slice(match[0].length)}`;
}

/** Rewrites script commands for the server and maps the client's script hashes to the server's. */
export class ScriptCompat {
  /** client SHA (of the script as sent) → server SHA (of the script as run). */
  private readonly serverSha = new Map<string, string>();

  /** The command to send to the server, and how to turn its reply into the one the client expects. */
  rewrite(command: Command): { command: Command; reply?: (reply: unknown) => unknown } {
    const [name = "", ...args] = command;
    const upper = name.toUpperCase();
    if ((upper === "EVAL" || upper === "EVAL_RO") && args[0] !== undefined) {
      const script = compatibleScript(args[0]);
      this.serverSha.set(sha1(args[0]), sha1(script));
      return { command: [name, script, ...args.slice(1)] };
    }
    if ((upper === "EVALSHA" || upper === "EVALSHA_RO") && args[0] !== undefined) {
      return { command: [name, this.serverSha.get(args[0].toLowerCase()) ?? args[0], ...args.slice(1)] };
    }
    if (upper === "SCRIPT" && args[0]?.toUpperCase() === "LOAD" && args[1] !== undefined) {
      const clientSha = sha1(args[1]);
      const script = compatibleScript(args[1]);
      this.serverSha.set(clientSha, sha1(script));
      return { command: [name, args[0], script], reply: () => clientSha };
    }
    if (upper === "SCRIPT" && args[0]?.toUpperCase() === "EXISTS") {
      return { command: [name, args[0], ...args.slice(1).map((sha) => this.serverSha.get(sha.toLowerCase()) ?? sha)] };
    }
    if (upper === "SCRIPT" && args[0]?.toUpperCase() === "FLUSH") this.serverSha.clear();
    return { command };
  }
}
