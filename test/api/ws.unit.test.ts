/**
 * The /ws hub on a real Bun.serve (port 0): auth at the upgrade, subscribe / unsubscribe with
 * acks, pushes carrying the envelope's id and type, channel validation, ping/pong, heartbeats,
 * and slow consumers closed with 1013 instead of buffered without bound.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import type { Server } from "bun";
import { createWsHandlers, type WsData, type WsHandlers, type WsOptions } from "../../gateway/api/ws.ts";
import { createEvent, type Envelope } from "../../src/events/envelope.ts";
import { AlphaError } from "../../src/errors.ts";
import { until } from "../../scripts/lib/proc.ts";
import { harness, silent, type Harness } from "./support.ts";

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 30_000);
afterAll(() => h?.close());

interface Running {
  hub: WsHandlers;
  server: Server<WsData>;
  url: string;
  stop(): Promise<void>;
}

function serve(options: WsOptions = {}): Running {
  const hub = createWsHandlers({ services: h.services, auth: h.keys, logger: silent, options });
  const server = Bun.serve<WsData>({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req, srv) => (hub.isUpgrade(req) ? hub.upgrade(req, srv) : h.app.fetch(req, srv)),
    websocket: hub.websocket,
  });
  return {
    hub,
    server,
    url: `ws://127.0.0.1:${server.port}/ws`,
    async stop() {
      hub.close();
      await server.stop(true);
    },
  };
}

/** A client that keeps every message and can wait for one. */
class Client {
  readonly messages: any[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: Array<() => void> = [];
  constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      this.messages.push(JSON.parse(String(e.data)));
      for (const w of this.waiters.splice(0)) w();
    };
    ws.onclose = (e) => {
      this.closed = { code: e.code, reason: e.reason };
      for (const w of this.waiters.splice(0)) w();
    };
  }

  static async open(url: string, key: string | null, via: "header" | "query" = "header"): Promise<Client> {
    const ws =
      key === null
        ? new WebSocket(url)
        : via === "header"
          ? new WebSocket(url, { headers: { authorization: `Bearer ${key}` } } as unknown as string[])
          : new WebSocket(`${url}?api_key=${encodeURIComponent(key)}`);
    const c = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("websocket refused"));
    });
    return c;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  async next(match: (m: any) => boolean = () => true, ms = 2_000): Promise<any> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.messages.findIndex(match);
      if (i >= 0) return this.messages.splice(i, 1)[0];
      if (this.closed) throw new Error(`closed (${this.closed.code}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message within ${ms} ms; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, left);
      });
    }
  }
}

function fill(orderId = "o-1"): Envelope {
  return createEvent({
    type: "order.filled",
    source: "execution",
    broker: "paper",
    key: orderId,
    data: { order_id: orderId, signal_id: "s", strategy_id: "manual", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET", fill_id: "f", fill_quantity: 1, fill_price: 245_135, filled_quantity: 1, fees: 1_250, status: "FILLED" },
  });
}

describe("upgrade", () => {
  test("without a key, or with a bad one, the upgrade is refused with 401", async () => {
    const run = serve();
    try {
      const http = run.url.replace("ws:", "http:");
      const headers = { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" };
      const none = await fetch(http, { headers });
      expect(none.status).toBe(401);
      expect(((await none.json()) as any).error.code).toBe("UNAUTHORIZED");
      expect(none.headers.get("www-authenticate")).toStartWith("Bearer");
      expect((await fetch(`${http}?api_key=ap_wrongButLongEnoughKey`, { headers })).status).toBe(401);
      await expect(Client.open(run.url, null)).rejects.toThrow(/refused/);
      await expect(Client.open(run.url, "ap_wrongButLongEnoughKey")).rejects.toThrow(/refused/);
      // A valid key on a plain GET: not a WebSocket request.
      expect((await fetch(http, { headers: { authorization: `Bearer ${h.readKey}` } })).status).toBe(426);
      expect(run.hub.stats().sockets).toBe(0);
    } finally {
      await run.stop();
    }
  });

  test("a read key works, in the header or as ?api_key= (for browsers)", async () => {
    const run = serve();
    try {
      const a = await Client.open(run.url, h.readKey, "header");
      const b = await Client.open(run.url, h.readKey, "query");
      a.send({ action: "ping" });
      b.send({ action: "ping" });
      expect(await a.next()).toEqual({ type: "pong" });
      expect(await b.next()).toEqual({ type: "pong" });
      expect(run.hub.stats().sockets).toBe(2);
      a.ws.close();
      b.ws.close();
    } finally {
      await run.stop();
    }
  });
});

describe("channels", () => {
  test("subscribe, receive a push with the envelope's id and type (money as strings), unsubscribe stops it", async () => {
    const run = serve();
    try {
      const c = await Client.open(run.url, h.readKey);
      c.send({ action: "subscribe", channels: ["orders.paper", "ticks.738561"] });
      expect(await c.next()).toEqual({ type: "subscribed", channels: ["orders.paper", "ticks.738561"] });

      const event = fill();
      h.services.emit("orders.paper", event);
      h.services.emit("orders.zerodha", fill("other")); // not subscribed
      const push = await c.next();
      expect(push).toEqual({
        channel: "orders.paper",
        id: event.id,
        type: "order.filled",
        ts: event.ts,
        correlation_id: event.correlation_id,
        data: expect.objectContaining({ order_id: "o-1", fill_price: "2451.35", fees: "12.50", fill_quantity: 1 }),
      });

      c.send({ action: "unsubscribe", channels: ["orders.paper"] });
      expect(await c.next()).toEqual({ type: "unsubscribed", channels: ["orders.paper"] });
      h.services.emit("orders.paper", fill("after"));
      c.send({ action: "ping" });
      // The pong comes after anything pushed before it: no push may sit in between.
      expect(await c.next()).toEqual({ type: "pong" });
      expect(c.messages).toEqual([]);
      expect(run.hub.stats().channels).toBe(1);
      c.ws.close();
    } finally {
      await run.stop();
    }
  });

  test("bad channels are named and none of the batch is subscribed", async () => {
    const run = serve();
    try {
      const c = await Client.open(run.url, h.readKey);
      c.send({ action: "subscribe", channels: ["orders.paper", "orders.zerodha", "ticks.42", "news.paper"] });
      const err = await c.next();
      expect(err).toMatchObject({ type: "error", code: "BAD_CHANNEL", details: { channels: ["orders.zerodha", "ticks.42", "news.paper"] } });
      expect(err.message).toContain('"orders.zerodha", "ticks.42", "news.paper"');
      expect(run.hub.stats().channels).toBe(0);
      c.send("{nope");
      expect(await c.next()).toMatchObject({ type: "error", code: "BAD_JSON" });
      c.send({ action: "dance" });
      expect(await c.next()).toMatchObject({ type: "error", code: "VALIDATION_FAILED" });
      c.send({ action: "subscribe", channels: [] });
      expect((await c.next()).details[0].path).toBe("channels");
      c.ws.close();
    } finally {
      await run.stop();
    }
  });

  test("a socket may hold only so many channels", async () => {
    const run = serve({ maxChannels: 2 });
    try {
      const c = await Client.open(run.url, h.readKey);
      c.send({ action: "subscribe", channels: ["ticks.738561", "ticks.2953217", "ticks.408065"] });
      expect(await c.next()).toMatchObject({ type: "error", code: "TOO_MANY_CHANNELS" });
      c.ws.close();
    } finally {
      await run.stop();
    }
  });

  test("ticks are watched while some socket holds a ticks channel, and only then", async () => {
    const run = serve();
    try {
      const before = h.services.tickWatches;
      const a = await Client.open(run.url, h.readKey);
      const b = await Client.open(run.url, h.readKey);
      a.send({ action: "subscribe", channels: ["orders.paper"] });
      expect(await a.next()).toMatchObject({ type: "subscribed" });
      expect(h.services.tickWatches).toBe(before);
      a.send({ action: "subscribe", channels: ["ticks.738561"] });
      expect(await a.next()).toEqual({ type: "subscribed", channels: ["ticks.738561"] });
      b.send({ action: "subscribe", channels: ["ticks.738561", "ticks.2953217"] });
      expect(await b.next()).toMatchObject({ type: "subscribed" });
      // One watch for the hub, however many sockets and channels.
      expect(h.services.tickWatches).toBe(before + 1);
      a.send({ action: "unsubscribe", channels: ["ticks.738561"] });
      expect(await a.next()).toMatchObject({ type: "unsubscribed" });
      expect(h.services.tickWatches).toBe(before + 1);
      // b's socket goes away: no ticks channel is left, the watch ends.
      b.ws.close();
      await until("the tick watch to end", async () => h.services.tickWatches === before, 5_000, 10);
      a.ws.close();
    } finally {
      await run.stop();
    }
  });

  test("a subscribe to ticks when they cannot be consumed fails whole, with the reason", async () => {
    const run = serve();
    try {
      const c = await Client.open(run.url, h.readKey);
      h.services.failure = new AlphaError("LOG_UNAVAILABLE", "the log is down for the test", { canRetry: true });
      try {
        c.send({ action: "subscribe", channels: ["orders.paper", "ticks.738561"] });
        const e = await c.next();
        expect(e).toMatchObject({ type: "error", code: "LOG_UNAVAILABLE" });
        expect(e.message).toContain("the log is down for the test");
      } finally {
        h.services.failure = undefined;
      }
      expect(run.hub.stats().channels).toBe(0);
      // Once the log is back, the same subscribe works (the failed watch is not kept).
      c.send({ action: "subscribe", channels: ["orders.paper", "ticks.738561"] });
      expect(await c.next()).toMatchObject({ type: "subscribed", channels: ["orders.paper", "ticks.738561"] });
      expect(run.hub.stats().channels).toBe(2);
      c.ws.close();
    } finally {
      await run.stop();
    }
  });

  test("close() stops listening to the services and closes sockets with 1001", async () => {
    const before = h.services.listenerCount();
    const run = serve();
    expect(h.services.listenerCount()).toBe(before + 1);
    const c = await Client.open(run.url, h.readKey);
    await run.stop();
    await Bun.sleep(50);
    expect(c.closed?.code).toBe(1001);
    expect(h.services.listenerCount()).toBe(before);
  });
});

/** A raw TCP WebSocket client that subscribes and then never reads (nor answers pings). */
async function deafClient(port: number, key: string, channels: string[]): Promise<Socket> {
  const sock = connect(port, "127.0.0.1");
  await new Promise<void>((r) => sock.once("connect", () => r()));
  sock.write(
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${key}\r\n\r\n`,
  );
  await new Promise<void>((resolve) => {
    let head = "";
    const onData = (b: Buffer) => {
      head += b.toString("latin1");
      if (head.includes("\r\n\r\n")) {
        sock.off("data", onData);
        resolve();
      }
    };
    sock.on("data", onData);
  });
  // One masked text frame (clients must mask), then stop reading.
  const payload = Buffer.from(JSON.stringify({ action: "subscribe", channels }));
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  sock.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
  sock.pause();
  return sock;
}

/** A stand-in for Bun's ServerWebSocket whose peer never reads: every byte sent stays buffered. */
function stuckSocket() {
  const sock = {
    data: { id: 99, scopes: ["read"], channels: new Set<string>(), alive: true } as WsData,
    readyState: 1,
    buffered: 0,
    maxBuffered: 0,
    closedWith: undefined as number | undefined,
    send(text: string) {
      sock.buffered += text.length;
      sock.maxBuffered = Math.max(sock.maxBuffered, sock.buffered);
      return -1;
    },
    getBufferedAmount: () => sock.buffered,
    close(code: number) {
      sock.closedWith = code;
      sock.readyState = 3;
    },
  };
  return sock;
}

describe("slow and dead consumers", () => {
  test("unsent bytes never exceed the bound plus one message; the socket is closed with 1013", () => {
    const bound = 64 * 1024;
    const hub = createWsHandlers({ services: h.services, auth: h.keys, logger: silent, options: { maxBufferedBytes: bound } });
    try {
      const sock = stuckSocket();
      const ws = sock as unknown as Parameters<NonNullable<typeof hub.websocket.open>>[0];
      hub.websocket.open!(ws);
      hub.websocket.message!(ws, JSON.stringify({ action: "subscribe", channels: ["orders.paper"] }));
      let largest = 0;
      for (let i = 0; i < 1_000; i++) {
        const e = fill(`o-${i}`);
        largest = Math.max(largest, JSON.stringify(e).length + 200);
        h.services.emit("orders.paper", e);
      }
      expect(sock.closedWith).toBe(1013);
      expect(sock.maxBuffered).toBeLessThanOrEqual(bound + largest);
      expect(hub.stats()).toMatchObject({ sockets: 0, channels: 0, closedSlow: 1 });
    } finally {
      hub.close();
    }
  });

  test("a client that never reads is closed (1013) once its unsent bytes pass the bound; others keep getting pushes", async () => {
    const bound = 256 * 1024;
    const run = serve({ maxBufferedBytes: bound });
    const deaf = await deafClient(run.server.port!, h.readKey, ["ticks.738561"]);
    const fine = await Client.open(run.url, h.readKey);
    try {
      fine.send({ action: "subscribe", channels: ["ticks.738561"] });
      await fine.next((m) => m.type === "subscribed");
      await Bun.sleep(50);
      expect(run.hub.stats().sockets).toBe(2);

      const big = "x".repeat(32 * 1024);
      let sent = 0;
      // 4000 × 32 KiB = 125 MiB: far past any socket buffer, so without the bound memory would grow.
      for (; sent < 4_000 && run.hub.stats().closedSlow === 0; sent++) {
        h.services.emit("ticks.738561", createEvent({ type: "market.tick", source: "test", broker: "shared", key: "738561", data: { instrument_token: 738561, last_price: 1, exchange_ts: new Date().toISOString(), feed: big } }));
        if (sent % 50 === 0) await Bun.sleep(1); // let the loop flush to the reading client
      }
      expect(run.hub.stats().closedSlow).toBe(1);
      expect(sent).toBeLessThan(4_000);
      // The deaf socket left its channels: further pushes cost it nothing.
      expect(run.hub.stats().sockets).toBe(1);
      const pushedBefore = run.hub.stats().pushed;
      h.services.emit("ticks.738561", createEvent({ type: "market.tick", source: "test", broker: "shared", key: "738561", data: { instrument_token: 738561, last_price: 1, exchange_ts: new Date().toISOString(), feed: "small" } }));
      expect(run.hub.stats().pushed).toBe(pushedBefore + 1);
      await fine.next((m) => m.data?.feed === "small", 10_000);
      expect(fine.closed).toBeUndefined();
    } finally {
      deaf.destroy();
      fine.ws.close();
      await run.stop();
    }
  }, 60_000);

  test("the heartbeat keeps answering clients and terminates silent ones", async () => {
    const run = serve({ heartbeatMs: 200 });
    const deaf = await deafClient(run.server.port!, h.readKey, ["orders.paper"]);
    const live = await Client.open(run.url, h.readKey);
    try {
      await Bun.sleep(50);
      expect(run.hub.stats().sockets).toBe(2);
      // Dead after two intervals without an answer; the live client answers every ping.
      await Bun.sleep(1_000);
      expect(run.hub.stats()).toMatchObject({ sockets: 1, closedDead: 1 });
      expect(live.closed).toBeUndefined();
      live.send({ action: "ping" });
      expect(await live.next()).toEqual({ type: "pong" });
    } finally {
      deaf.destroy();
      live.ws.close();
      await run.stop();
    }
  });
});
