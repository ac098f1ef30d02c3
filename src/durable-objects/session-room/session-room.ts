// SessionRoom: one per analysis session. An ordered event log in SQLite, live SSE fan-out, and the chat turn order.
import { DurableObject } from "cloudflare:workers";
import { sseComment, sseEvent } from "../../lib/sse.ts";

export interface RoomEvent {
  id: number;
  type: string;
  data: unknown;
  at: string;
}

/** Events kept for resuming clients; older ones are dropped as new ones arrive. */
const KEEP_EVENTS = 500;
/** A chat turn holds the session at most this long, so a Worker that died mid-turn cannot block it. */
const MAX_TURN_MS = 120_000;

interface Waiter {
  resolve: (token: string | null) => void;
  leaseMs: number;
  timer: ReturnType<typeof setTimeout>;
}

export class SessionRoom extends DurableObject<Cloudflare.Env> {
  private readonly clients = new Set<WritableStreamDefaultWriter<Uint8Array>>();
  private readonly encoder = new TextEncoder();
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private turn: { token: string; expires: number } | null = null;
  private readonly waiters: Waiter[] = [];
  private turnTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    // AUTOINCREMENT: ids never repeat, even after old events are trimmed, so Last-Event-ID stays meaningful.
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, data TEXT NOT NULL, at TEXT NOT NULL)`,
    );
  }

  /** Appends an event and sends it to every connected client; returns its id. */
  publish(type: string, data: unknown): number {
    const at = new Date().toISOString();
    const json = JSON.stringify(data ?? null);
    const row = this.ctx.storage.sql
      .exec<{ id: number }>(`INSERT INTO events (type, data, at) VALUES (?, ?, ?) RETURNING id`, type, json, at)
      .one();
    this.ctx.storage.sql.exec(`DELETE FROM events WHERE id <= ?`, row.id - KEEP_EVENTS);
    this.broadcast(sseEvent({ id: String(row.id), event: type, data: json }));
    return row.id;
  }

  /** The events after `afterId`, oldest first (what a resuming client missed). */
  eventsAfter(afterId: number, limit = KEEP_EVENTS): RoomEvent[] {
    return this.ctx.storage.sql
      .exec<{ id: number; type: string; data: string; at: string }>(
        `SELECT id, type, data, at FROM events WHERE id > ? ORDER BY id LIMIT ?`,
        afterId,
        limit,
      )
      .toArray()
      .map((row) => ({ id: row.id, type: row.type, data: JSON.parse(row.data) as unknown, at: row.at }));
  }

  /** The newest event of `type` still kept (its data as JSON text), or null: a dataset's last progress, for a read that does not stream. */
  lastEvent(type: string): { id: number; data: string; at: string } | null {
    const [row] = this.ctx.storage.sql
      .exec<{ id: number; data: string; at: string }>(`SELECT id, data, at FROM events WHERE type = ? ORDER BY id DESC LIMIT 1`, type)
      .toArray();
    return row ? { id: row.id, data: row.data, at: row.at } : null;
  }

  /**
   * `GET` with an optional `Last-Event-ID`: an SSE stream of what the client missed, then every new
   * event. The backlog is read and the client registered in one synchronous step, so no event
   * published meanwhile is lost or sent twice.
   */
  override fetch(request: Request): Response {
    const heartbeatSeconds = Number(new URL(request.url).searchParams.get("heartbeat")) || 15;
    const lastId = Number.parseInt(request.headers.get("Last-Event-ID") ?? "0", 10);
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const backlog = this.eventsAfter(Number.isFinite(lastId) && lastId > 0 ? lastId : 0);
    // The retry hint, then the backlog, then live events: writes queue in order on the writer.
    void writer.write(this.encoder.encode("retry: 3000\n\n")).catch(() => this.drop(writer));
    for (const event of backlog) {
      void writer
        .write(this.encoder.encode(sseEvent({ id: String(event.id), event: event.type, data: JSON.stringify(event.data) })))
        .catch(() => this.drop(writer));
    }
    this.clients.add(writer);
    this.startHeartbeat(heartbeatSeconds);
    return new Response(readable, {
      headers: { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store", "X-Accel-Buffering": "no" },
    });
  }

  /**
   * Waits until no other chat turn holds the session, in arrival order, then holds it for at most
   * `leaseMs`. Resolves to a token for `releaseTurn`, or null when `waitMs` passed first.
   */
  acquireTurn(leaseMs: number, waitMs: number): Promise<string | null> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        leaseMs: Math.min(leaseMs, MAX_TURN_MS),
        timer: setTimeout(() => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          resolve(null);
        }, waitMs),
      };
      this.waiters.push(waiter);
      this.pump();
    });
  }

  releaseTurn(token: string): void {
    if (this.turn?.token !== token) return;
    this.turn = null;
    this.pump();
  }

  /** Hands the turn to the next waiter once it is free (or its holder's lease ran out). */
  private pump() {
    clearTimeout(this.turnTimer);
    if (this.turn && this.turn.expires > Date.now()) {
      this.turnTimer = setTimeout(() => this.pump(), this.turn.expires - Date.now());
      return;
    }
    this.turn = null;
    const next = this.waiters.shift();
    if (!next) return;
    clearTimeout(next.timer);
    this.turn = { token: crypto.randomUUID(), expires: Date.now() + next.leaseMs };
    next.resolve(this.turn.token);
    this.turnTimer = setTimeout(() => this.pump(), next.leaseMs);
  }

  private broadcast(text: string) {
    const bytes = this.encoder.encode(text);
    for (const writer of this.clients) void writer.write(bytes).catch(() => this.drop(writer));
  }

  private drop(writer: WritableStreamDefaultWriter<Uint8Array>) {
    this.clients.delete(writer);
    void writer.abort().catch(() => {});
    if (this.clients.size === 0) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  /** A comment every few seconds keeps proxies from closing an idle stream, and finds clients that left. */
  private startHeartbeat(seconds: number) {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => this.broadcast(sseComment("heartbeat")), seconds * 1000);
  }
}
