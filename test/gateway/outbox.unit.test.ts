/**
 * Order intake through the outbox (gateway/services/orders.ts `place`, gateway/outbox.ts), on
 * embedded PGlite with a producer the test controls (it delivers, fails, or hangs like a send to a
 * Kafka that is down):
 * - a crash between the durable write and the send: a relay started afterwards sends the order,
 *   exactly once, even with two relays (two gateways) on the database;
 * - a send that fails is sent again once the log is back, once; POST answers at once meanwhile;
 * - past ORDER_SEND_TIMEOUT_MS an unsent order ends FAILED SEND_TIMEOUT and is never sent;
 * - a retry with the same client_order_id of an order not sent yet has it sent.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pino from "pino";
import postgres from "postgres";
import { OrderRelay } from "../../gateway/outbox.ts";
import { createServices } from "../../gateway/services/index.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import type { PlaceOrder } from "../../gateway/api/services.ts";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { AlphaError } from "../../src/errors.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import type { OutgoingMessage, Producer } from "../../src/log/port.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { topicSpecs } from "../../src/topics.ts";
import { placeRow } from "../store/outbox-conformance.ts";

const silent = pino({ level: "silent" });

/** A producer that delivers, fails (LOG_UNAVAILABLE at once) or hangs (until set back). */
class TestProducer implements Producer {
  mode: "ok" | "fail" | "hang" = "ok";
  /** Every send started: its envelope id and when. */
  readonly attempts: Array<{ id: string; at: number }> = [];
  /** Envelope ids the "log" took. */
  readonly delivered: string[] = [];
  #hung: Array<() => void> = [];

  /** Topics whose sends fail whatever the mode (a partition without a leader). */
  readonly down = new Set<string>();
  /** Every message the "log" took. */
  readonly log: Array<{ topic: string; id: string; type: string; data: Record<string, unknown> }> = [];

  async send(messages: readonly OutgoingMessage[]): Promise<void> {
    const ids = messages.map((m) => (JSON.parse(String(m.value)) as { id: string }).id);
    for (const id of ids) this.attempts.push({ id, at: Date.now() });
    if (this.mode === "fail" || messages.some((m) => this.down.has(m.topic))) throw new AlphaError("LOG_UNAVAILABLE", "send: connection refused", { canRetry: true });
    if (this.mode === "hang") {
      await new Promise<void>((resolve) => this.#hung.push(resolve));
    }
    this.delivered.push(...ids);
    for (const m of messages) {
      const e = JSON.parse(String(m.value)) as { id: string; type: string; data: Record<string, unknown> };
      this.log.push({ topic: m.topic, id: e.id, type: e.type, data: e.data });
    }
  }
  /** Back to delivering; the hung sends complete (as a client's own retries would once the log returns). */
  recover(): void {
    this.mode = "ok";
    for (const r of this.#hung.splice(0)) r();
  }
  async close(): Promise<void> {}
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await Bun.sleep(20);
  }
}

const order = (extra: Partial<PlaceOrder> = {}): PlaceOrder => ({ broker: "paper", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET", strategy_id: "manual", ...extra });

async function outboxOf(store: Store, orderId: string) {
  const [r] = await store.sql`select o.status, o.reason_code, o.message, x.sent_at, x.failed_at from orders o join order_outbox x using (order_id) where o.order_id = ${orderId}`;
  return r;
}

let store: Store;
const log = new MemoryLog(new MemoryBroker());
beforeAll(async () => {
  store = await openStore();
  await log.createTopics(topicSpecs(["paper"]));
}, 30_000);
afterAll(async () => {
  await store?.close();
  await log.close();
});

function services(producer: Producer, env: Record<string, string> = {}, relay: ConstructorParameters<typeof OrderRelay>[0] extends infer O ? Partial<O> : never = {}) {
  const config = loadConfig({ FEED: "none", ...env });
  return createServices({ config, log, producer, store, cache: new MemoryCache(), logger: silent, instruments: NSE_MASTER, relay: { pollMs: 50, ...relay } });
}

describe("the relay", () => {
  test("a crash between the durable write and the send: a relay started later sends the order exactly once, even two relays at once", async () => {
    const producer = new TestProducer();
    // What a gateway killed right after its insert leaves: the row, claimed for a lease that lapses.
    const crashed = await placeRow(store.sql, { leaseMs: 300 });
    expect(producer.attempts).toEqual([]);
    const relays = [0, 1].map(() => new OrderRelay({ sql: store.sql, producer, logger: silent, pollMs: 20 }));
    const t0 = Date.now();
    for (const r of relays) r.start();
    try {
      await until(() => producer.delivered.includes(crashed.eventId));
      // Not before the crashed process's lease lapsed (it might still have been sending).
      expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
      await until(async () => (await outboxOf(store, crashed.orderId))?.sent_at !== null);
      await Bun.sleep(300); // many more rounds of both relays
      expect(producer.delivered.filter((id) => id === crashed.eventId)).toHaveLength(1);
      expect(producer.attempts.filter((a) => a.id === crashed.eventId)).toHaveLength(1);
    } finally {
      await Promise.all(relays.map((r) => r.close()));
    }
  });

  test("the marks of sends that finish together share one statement, written within the mark delay; close writes those still waiting", async () => {
    const producer = new TestProducer();
    let marks = 0;
    // The relay's statements, counted: a mark is `update order_outbox set sent_at …`.
    const sql = new Proxy(store.sql, {
      get(target, prop, receiver) {
        if (prop !== "unsafe") return Reflect.get(target, prop, receiver);
        return (text: string, ...rest: unknown[]) => {
          if (text.includes("set sent_at = now()")) marks++;
          return (target.unsafe as (...a: unknown[]) => unknown)(text, ...rest);
        };
      },
    });
    const relay = new OrderRelay({ sql, producer, logger: silent, markDelayMs: 150 });
    const rows = await Promise.all([0, 1, 2, 3, 4].map(() => placeRow(store.sql, { leaseMs: 5_000 })));
    const t0 = Date.now();
    expect(await Promise.all(rows.map((r) => relay.sendNow(r.message, 1_000)))).toEqual([true, true, true, true, true]);
    expect(marks).toBe(0);
    await until(async () => (await Promise.all(rows.map((r) => outboxOf(store, r.orderId)))).every((x) => x?.sent_at !== null));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    expect(marks).toBe(1);
    // One more send, then close before its delay: close writes its mark.
    const last = await placeRow(store.sql, { leaseMs: 5_000 });
    expect(await relay.sendNow(last.message, 1_000)).toBe(true);
    await relay.close();
    expect((await outboxOf(store, last.orderId))?.sent_at).not.toBeNull();
    expect(marks).toBe(2);
  });

  test("a send that fails is sent again once the log is back, once; POST answers at once meanwhile", async () => {
    const producer = new TestProducer();
    producer.mode = "fail";
    const s = services(producer);
    await s.start();
    try {
      const t0 = Date.now();
      const { order: placed, created } = await s.orders.place(order());
      expect(Date.now() - t0).toBeLessThan(1_000);
      expect(created).toBe(true);
      expect(placed.status).toBe("PENDING");
      await until(() => producer.attempts.length >= 3); // the relay keeps trying
      expect(producer.delivered).toEqual([]);
      producer.recover();
      await until(async () => (await outboxOf(store, placed.order_id))?.sent_at !== null);
      await Bun.sleep(200);
      expect(producer.delivered).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  test("with the log hanging, POST answers 202 within its budget and the order is sent when the log returns", async () => {
    const producer = new TestProducer();
    producer.mode = "hang";
    const s = services(producer);
    await s.start();
    try {
      const t0 = Date.now();
      const { order: placed, created } = await s.orders.place(order());
      const took = Date.now() - t0;
      expect(created).toBe(true);
      expect(took).toBeLessThan(1_000);
      expect((await outboxOf(store, placed.order_id))?.sent_at).toBeNull();
      await Bun.sleep(300);
      // The send in flight is not started again by this process while it waits.
      expect(producer.attempts).toHaveLength(1);
      producer.recover();
      await until(async () => (await outboxOf(store, placed.order_id))?.sent_at !== null);
      expect(producer.delivered).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  test("past ORDER_SEND_TIMEOUT_MS an unsent order ends FAILED SEND_TIMEOUT and is never sent", async () => {
    const producer = new TestProducer();
    producer.down.add("paper.signals.raw");
    const s = services(producer, { ORDER_SEND_TIMEOUT_MS: "5000" }, { settleMs: 100, attemptMs: 1_000 });
    await s.start();
    try {
      const t0 = Date.now();
      const { order: placed } = await s.orders.place(order());
      const deadline = t0 + 5_000;
      await until(async () => (await outboxOf(store, placed.order_id))?.status === "FAILED", 8_000);
      expect(Date.now()).toBeGreaterThanOrEqual(deadline);
      expect(await outboxOf(store, placed.order_id)).toMatchObject({ status: "FAILED", reason_code: "SEND_TIMEOUT" });
      const view = await s.orders.get(placed.order_id);
      expect(view).toMatchObject({ status: "FAILED", reason_code: "SEND_TIMEOUT" });
      expect(view?.events?.map((e) => e.type)).toEqual(["signal.generated", "order.failed"]);
      // Tried while there was time; never a send of the order started within attemptMs of the deadline.
      const signalId = producer.attempts[0]!.id;
      const tries = producer.attempts.filter((a) => a.id === signalId);
      expect(tries.length).toBeGreaterThan(1);
      for (const a of tries) expect(a.at).toBeLessThanOrEqual(deadline - 1_000);
      // Its end is published for WebSocket subscribers, under the id the order's events have.
      await until(() => producer.log.length === 1);
      const failedId = view!.events!.find((e) => e.type === "order.failed")!.id;
      expect(producer.log[0]).toMatchObject({ topic: "paper.orders.failed", id: failedId, type: "order.failed", data: { order_id: placed.order_id, reason_code: "SEND_TIMEOUT", quantity: 1 } });
      // The log comes back: the order stays unsent and FAILED.
      producer.down.clear();
      producer.recover();
      await Bun.sleep(300);
      expect(producer.delivered).toEqual([failedId]);
      expect((await s.orders.get(placed.order_id))?.status).toBe("FAILED");
    } finally {
      await s.close();
    }
  }, 15_000);

  test("a retry with the same client_order_id of an order not sent yet has it sent at once", async () => {
    const producer = new TestProducer();
    producer.mode = "fail";
    // A relay that would not look again for a minute: only the retry can send it in time.
    const s = services(producer, {}, { pollMs: 60_000 });
    await s.start();
    try {
      const cid = `retry-${Date.now()}`;
      const first = await s.orders.place(order({ client_order_id: cid }));
      expect(first.created).toBe(true);
      await Bun.sleep(100);
      expect(producer.delivered).toEqual([]);
      producer.recover();
      const t0 = Date.now();
      const again = await s.orders.place(order({ client_order_id: cid }));
      expect(again.created).toBe(false);
      expect(again.order.order_id).toBe(first.order.order_id);
      await until(() => producer.delivered.length === 1, 2_000);
      expect(Date.now() - t0).toBeLessThan(2_000);
      await until(async () => (await outboxOf(store, first.order.order_id))?.sent_at !== null);
      // A further retry of a sent order sends nothing more.
      await s.orders.place(order({ client_order_id: cid }));
      await Bun.sleep(200);
      expect(producer.delivered).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  test("an order sent inline is marked sent without the relay, and never sent twice", async () => {
    const producer = new TestProducer();
    const s = services(producer, {}, { pollMs: 60_000 });
    await s.start();
    try {
      const placed = await Promise.all(Array.from({ length: 20 }, () => s.orders.place(order())));
      await until(async () => {
        const [r] = await store.sql`select count(*)::int as n from order_outbox where order_id = any(${placed.map((p) => p.order.order_id)}) and sent_at is not null`;
        return r?.n === 20;
      });
      expect(producer.delivered).toHaveLength(20);
      expect(new Set(producer.delivered).size).toBe(20);
    } finally {
      await s.close();
    }
  });
});

describe("ORDER_SEND_TIMEOUT_MS", () => {
  test("defaults to 30 s; a value out of range is refused at start, naming the setting", () => {
    expect(loadConfig({}).orderSendTimeoutMs).toBe(30_000);
    expect(loadConfig({ ORDER_SEND_TIMEOUT_MS: "120000" }).orderSendTimeoutMs).toBe(120_000);
    for (const bad of ["1000", "soon", "-5"]) {
      let err: unknown;
      try {
        loadConfig({ ORDER_SEND_TIMEOUT_MS: bad });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: "CONFIG_INVALID" });
      expect((err as Error).message).toContain("ORDER_SEND_TIMEOUT_MS: must be a timeout in ms (an integer from 5000 to 3600000)");
    }
  });

  test("the order's envelope carries its deadline", async () => {
    const producer = new TestProducer();
    const s = services(producer, { ORDER_SEND_TIMEOUT_MS: "45000" }, { pollMs: 60_000 });
    await s.start();
    try {
      const t0 = Date.now();
      const { order: placed } = await s.orders.place(order());
      await until(() => producer.delivered.length === 1);
      const [row] = await store.sql`select envelope, expires_at from order_outbox where order_id = ${placed.order_id}`;
      const env = JSON.parse(String(row?.envelope)) as { id: string; data: { signal_id: string; expires_at: string } };
      expect(env.data.signal_id).toBe(placed.order_id);
      const deadline = Date.parse(env.data.expires_at);
      expect(deadline).toBe(new Date(row?.expires_at).getTime());
      expect(deadline - t0).toBeGreaterThanOrEqual(45_000);
      expect(deadline - t0).toBeLessThan(46_000);
    } finally {
      await s.close();
    }
  });
});

describe("with the database down", () => {
  /** A "database" that accepts connections and never answers: a stalled server. */
  function stalledServer() {
    const sockets: Array<{ end(): void }> = [];
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => void sockets.push(s), data: () => {} } });
    return { port: server.port, stop: () => (sockets.forEach((s) => s.end()), server.stop(true)) };
  }

  for (const [name, target] of [
    ["stalled (accepts, never answers)", () => stalledServer()],
    ["stopped (connection refused)", () => {
      const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: () => {} } });
      const port = s.port;
      s.stop(true);
      return { port, stop: () => {} };
    }],
  ] as const) {
    test(`${name}: POST /orders is a retryable STORE_UNAVAILABLE within 2 s, and nothing is sent`, async () => {
      const db = target();
      const sql = postgres(`postgres://x:y@127.0.0.1:${db.port}/none`, { max: 2, connect_timeout: 30, onnotice: () => {} });
      const producer = new TestProducer();
      const s = createServices({ config: loadConfig({ FEED: "none" }), log, producer, store: { sql } as unknown as Store, cache: new MemoryCache(), logger: silent, instruments: NSE_MASTER, relay: { pollMs: 60_000 } });
      try {
        const t0 = Date.now();
        const err = await s.orders.place(order()).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(Date.now() - t0).toBeLessThan(2_000);
        expect(err).toMatchObject({ code: "STORE_UNAVAILABLE", canRetry: true });
        expect(producer.attempts).toEqual([]);
        // Reads are bounded too.
        const t1 = Date.now();
        const listed = await s.orders.list({ limit: 10 }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(Date.now() - t1).toBeLessThan(2_000);
        expect(listed).toMatchObject({ code: "STORE_UNAVAILABLE", canRetry: true });
      } finally {
        db.stop();
        await s.close();
        await sql.end({ timeout: 0 });
      }
    }, 15_000);
  }
});

describe("with the log or the cache down, every call is answered within 2 s", () => {
  const timed = async (p: Promise<unknown>) => {
    const t0 = Date.now();
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    return { err, ms: Date.now() - t0 };
  };

  test("a cancel or a tick publish with the log hanging is a retryable LOG_UNAVAILABLE", async () => {
    const producer = new TestProducer();
    const s = services(producer, {}, { pollMs: 60_000 });
    await s.start();
    try {
      const { order: placed } = await s.orders.place(order());
      await until(() => producer.delivered.length === 1);
      producer.mode = "hang";
      const cancel = await timed(s.orders.cancel(placed.order_id));
      expect(cancel.ms).toBeLessThan(2_000);
      expect(cancel.err).toMatchObject({ code: "LOG_UNAVAILABLE", canRetry: true });
      const tick = await timed(s.ticks.publish([{ instrument_token: 738561, last_price: 245_135, exchange_ts: new Date().toISOString(), feed: "api" }]));
      expect(tick.ms).toBeLessThan(2_000);
      expect(tick.err).toMatchObject({ code: "LOG_UNAVAILABLE", canRetry: true });
    } finally {
      producer.recover();
      await s.close();
    }
  });

  test("a portfolio read with Redis stopped or stalled is a retryable 503 code", async () => {
    const { RedisCache } = await import("../../src/cache/redis.ts");
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: () => {} } });
    const closedPort = closed.port;
    closed.stop(true);
    const sockets: Array<{ end(): void }> = [];
    const stalled = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (x) => void sockets.push(x), data: () => {} } });
    try {
      for (const port of [closedPort, stalled.port]) {
        const cache = new RedisCache(`redis://127.0.0.1:${port}`);
        const s = createServices({ config: loadConfig({ FEED: "none" }), log, producer: new TestProducer(), store, cache, logger: silent, instruments: NSE_MASTER, relay: { pollMs: 60_000 } });
        try {
          const read = await timed(s.portfolios.get("paper"));
          expect(read.ms).toBeLessThan(2_000);
          expect(["CACHE_UNAVAILABLE", "TIMEOUT"]).toContain((read.err as { code: string }).code);
          expect(read.err).toMatchObject({ canRetry: true });
        } finally {
          await s.close();
          await cache.close().catch(() => {});
        }
      }
    } finally {
      sockets.forEach((x) => x.end());
      stalled.stop(true);
    }
  }, 15_000);
});
