// A Redis source's server views: the slow log, memory by key (a bounded SCAN, never KEYS), and publishing a message.
import { type Command, type RedisTarget, sendAll } from "./redis.ts";
import { serverInfo } from "./redis-browse.ts";

/** SLOWLOG GET: the slowest recent commands (arguments as Redis kept them: at most 32, each cut at 128 bytes). */
export async function slowlog(target: RedisTarget, count: number) {
  const [entries, length] = await sendAll(target, [
    ["SLOWLOG", "GET", String(count)],
    ["SLOWLOG", "LEN"],
  ]);
  return {
    length: Number(length),
    entries: (entries as unknown[][]).map(([id, at, micros, args, client, name]) => ({
      id: Number(id),
      at: new Date(Number(at) * 1000).toISOString(),
      durationMicros: Number(micros),
      command: (args as unknown[]).map(String),
      client: client === undefined ? null : String(client),
      clientName: name ? String(name) : null,
    })),
  };
}

/**
 * Memory: the server's summary, and the biggest keys among those a bounded SCAN met (at most `budget` keys, resumable by
 * `cursor`), each sized by MEMORY USAGE.
 */
export async function memory(
  target: RedisTarget,
  { match, cursor, budget, top, samples }: { match: string; cursor: string; budget: number; top: number; samples: number },
) {
  const seen = new Set<string>();
  let next = cursor;
  // SCAN's COUNT is a hint, so the rounds are capped too: a sparse pattern cannot turn this into a full walk. A step's keys
  // are all kept (the cursor could not resume inside one), so a call may examine one step's overshoot beyond `budget`.
  for (let round = 0; round < 100 && seen.size < budget; round++) {
    const step = Math.min(budget - seen.size, 1_000);
    const [reply] = await sendAll(target, [["SCAN", next, "MATCH", match, "COUNT", String(step)]]);
    const [after, keys] = reply as [string, string[]];
    for (const key of keys) seen.add(key);
    next = String(after);
    if (next === "0") break;
  }
  const keys = [...seen];
  const sized: { key: string; type: string; bytes: number | null }[] = [];
  for (let at = 0; at < keys.length; at += 500) {
    const chunk = keys.slice(at, at + 500);
    const replies = await sendAll(
      target,
      chunk.flatMap((key): Command[] => [
        ["MEMORY", "USAGE", key, "SAMPLES", String(samples)],
        ["TYPE", key],
      ]),
    );
    // A key gone between SCAN and MEMORY USAGE answers nil.
    chunk.forEach((key, i) => {
      const bytes = replies[2 * i];
      sized.push({ key, type: String(replies[2 * i + 1]), bytes: bytes === null ? null : Number(bytes) });
    });
  }
  sized.sort((a, b) => (b.bytes ?? -1) - (a.bytes ?? -1) || (a.key < b.key ? -1 : 1));
  const { memory: summary, keys: total } = await serverInfo(target);
  return {
    summary,
    totalKeys: total,
    scan: { match, scanned: keys.length, cursor: next, complete: next === "0" },
    biggest: sized.slice(0, top),
  };
}

/** PUBLISH: how many subscribers received it. */
export async function publish(target: RedisTarget, channel: string, message: string) {
  const [receivers] = await sendAll(target, [["PUBLISH", channel, message]]);
  return { receivers: Number(receivers) };
}
