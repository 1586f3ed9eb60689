/**
 * A fake Kite ticker for tests: Bun.serve on port 0 that checks api_key and access_token at the
 * handshake (403 otherwise), keeps each connection's subscriptions the way Kite does (subscribe
 * puts a token in "quote", mode moves it), sends a 1-byte heartbeat every `heartbeatMs`, and lets
 * a test push binary frames and text messages, drop every connection, or go silent.
 */
import type { Server, ServerWebSocket } from "bun";
import type { KiteRequest } from "../../../src/kite/ticker/subscriptions.ts";
import type { KiteMode } from "../../../src/kite/ticker/types.ts";
import { HEARTBEAT } from "./encode.ts";

interface Conn {
  id: number;
  subscriptions: Map<number, KiteMode>;
}

export interface FakeKiteOptions {
  apiKey?: string;
  accessToken?: string;
  /** 0 = no heartbeats. Default 50 ms, so a test watchdog of a few hundred ms stays quiet. */
  heartbeatMs?: number;
}

export class FakeKiteServer {
  readonly apiKey: string;
  /** Change it to make the next handshakes fail (or pass). */
  accessToken: string;
  /** While true, nothing is sent: no heartbeats, no pushes. */
  silent = false;
  /** Every request received: which connection (1, 2, …) and what. */
  readonly requests: { conn: number; request: KiteRequest }[] = [];
  /** Handshakes accepted, and refused with 403. */
  accepted = 0;
  refused = 0;
  private readonly server: Server<Conn>;
  private readonly sockets = new Set<ServerWebSocket<Conn>>();
  private readonly conns: Conn[] = [];
  private readonly heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(options: FakeKiteOptions = {}) {
    this.apiKey = options.apiKey ?? "test_key";
    this.accessToken = options.accessToken ?? "test_token";
    this.server = Bun.serve<Conn>({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req, srv) => {
        const q = new URL(req.url).searchParams;
        if (q.get("api_key") !== this.apiKey || q.get("access_token") !== this.accessToken) {
          this.refused += 1;
          return new Response("Forbidden", { status: 403 });
        }
        const conn: Conn = { id: this.accepted + 1, subscriptions: new Map() };
        if (!srv.upgrade(req, { data: conn })) return new Response("Upgrade required", { status: 426 });
        this.accepted += 1;
        this.conns.push(conn);
        return undefined;
      },
      websocket: {
        open: (ws) => void this.sockets.add(ws),
        close: (ws) => void this.sockets.delete(ws),
        message: (ws, message) => this.onRequest(ws.data, String(message)),
      },
    });
    const every = options.heartbeatMs ?? 50;
    if (every > 0) this.heartbeat = setInterval(() => this.push(HEARTBEAT), every);
  }

  /** The base URL, as the client's `url` option. */
  get url(): string {
    return `ws://127.0.0.1:${this.server.port}`;
  }

  /** Open connections now. */
  get open(): number {
    return this.sockets.size;
  }

  /** The subscriptions of connection n (1-based; default the latest), token → mode. */
  subscriptions(n = this.conns.length): Map<number, KiteMode> {
    return this.conns[n - 1]?.subscriptions ?? new Map();
  }

  /** A binary frame to every open connection (unless silent). */
  push(frame: Uint8Array): void {
    if (this.silent) return;
    for (const ws of this.sockets) ws.sendBinary(frame);
  }

  /** A text message (JSON if not a string) to every open connection (unless silent). */
  pushText(message: unknown): void {
    if (this.silent) return;
    const text = typeof message === "string" ? message : JSON.stringify(message);
    for (const ws of this.sockets) ws.sendText(text);
  }

  /** Cuts every connection without a close frame, as a network failure would. */
  drop(): void {
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    this.drop();
    await this.server.stop(true);
  }

  private onRequest(conn: Conn, text: string): void {
    const request = JSON.parse(text) as KiteRequest;
    this.requests.push({ conn: conn.id, request });
    if (request.a === "subscribe") for (const t of request.v) if (!conn.subscriptions.has(t)) conn.subscriptions.set(t, "quote");
    if (request.a === "unsubscribe") for (const t of request.v) conn.subscriptions.delete(t);
    if (request.a === "mode") for (const t of request.v[1]) if (conn.subscriptions.has(t)) conn.subscriptions.set(t, request.v[0]);
  }
}

/** Polls until `check` returns something truthy; fails with `what` after `timeoutMs`. */
export async function until<T>(what: string, check: () => T | undefined | null | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}
