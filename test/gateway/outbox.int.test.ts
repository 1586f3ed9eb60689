/**
 * Order intake on the real PostgreSQL (a fresh schema), where several connections and gateways
 * meet: an insert sent but unanswered when the budget ends (held behind another transaction's
 * lock, or pipelined behind a slow statement) is answered 503 within 2 s and undone when it
 * completes, so a 503 leaves no order; the database going away is a 503 within 2 s and orders
 * resume once it is back, without a restart; orders a crash left unsent are sent exactly once by
 * two gateways' relays at once (for update skip locked).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pino from "pino";
import postgres from "postgres";
import { OrderRelay } from "../../gateway/outbox.ts";
import { createServices } from "../../gateway/services/index.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { newId } from "../../src/events/ids.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import type { OutgoingMessage, Producer } from "../../src/log/port.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { topicSpecs } from "../../src/topics.ts";
import { freshDatabaseUrl } from "../support/fresh-db.ts";
import { needs } from "../support/infra.ts";
import { placeRow } from "../store/outbox-conformance.ts";

const silent = pino({ level: "silent" });

class CountingProducer implements Producer {
  readonly delivered: string[] = [];
  async send(messages: readonly OutgoingMessage[]): Promise<void> {
    await Bun.sleep(5);
    for (const m of messages) this.delivered.push((JSON.parse(String(m.value)) as { id: string }).id);
  }
  async close(): Promise<void> {}
}

const pgUp = await needs("postgres");

// Skipped only when PostgreSQL does not answer and REQUIRE_INFRA is unset: with REQUIRE_INFRA=1
// `needs` registers a failing test naming the address instead (test/support/infra.ts).
describe.skipIf(!pgUp)("order intake on PostgreSQL", () => {
  let db: { url: string; drop: () => Promise<void> };
  let store: Store;
  const log = new MemoryLog(new MemoryBroker());
  beforeAll(async () => {
    db = await freshDatabaseUrl();
    store = await openStore({ databaseUrl: db.url });
    await log.createTopics(topicSpecs(["paper"]));
  }, 30_000);
  afterAll(async () => {
    await store?.close();
    await db?.drop();
    await log.close();
  });

  test("an insert held behind another transaction past the budget: 503 within 2 s, and the order is undone when it completes", async () => {
    const producer = new CountingProducer();
    const config = loadConfig({ FEED: "none", DATABASE_URL: db.url });
    const services = createServices({ config, log, producer, store, cache: new MemoryCache(), logger: silent, instruments: NSE_MASTER });
    const other = postgres(db.url, { max: 1, onnotice: () => {} });
    const cid = `held-${newId()}`;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    // Another transaction inserts an order with the same client_order_id and holds it uncommitted:
    // our insert waits on the unique index until it is cancelled.
    const holder = other
      .begin(async (tx) => {
        await tx`insert into orders (order_id, broker, strategy_id, instrument_token, side, quantity, order_type, status, client_order_id, correlation_id)
                 values (${newId()}, 'paper', 'manual', 738561, 'BUY', 1, 'MARKET', 'PENDING', ${cid}, ${newId()})`;
        locked();
        await released;
        throw new Error("roll back");
      })
      .catch(() => {});
    try {
      await isLocked;
      const t0 = Date.now();
      const err = await services.orders.place({ broker: "paper", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET", strategy_id: "manual", client_order_id: cid }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const took = Date.now() - t0;
      expect(err).toMatchObject({ code: "STORE_UNAVAILABLE", canRetry: true });
      expect(took).toBeLessThan(2_000);
    } finally {
      release();
      await holder;
      await other.end({ timeout: 5 });
    }
    // The holder rolled back and ours was withdrawn: no order, nothing to send, then or later.
    await Bun.sleep(500);
    const [n] = await store.sql`select (select count(*)::int from orders where client_order_id = ${cid}) as orders, (select count(*)::int from order_outbox) as outbox`;
    expect(n).toMatchObject({ orders: 0 });
    expect(producer.delivered).toEqual([]);
    await services.close();
  });

  test("an insert behind a busy connection past the budget: 503 within 2 s, and no order once it ran", async () => {
    const busy = await openStore({ databaseUrl: db.url, maxConnections: 1 });
    const producer = new CountingProducer();
    const config = loadConfig({ FEED: "none", DATABASE_URL: db.url });
    const services = createServices({ config, log, producer, store: busy, cache: new MemoryCache(), logger: silent, instruments: NSE_MASTER });
    const cid = `queued-${newId()}`;
    try {
      const sleeping = busy.sql`select pg_sleep(2.5)`.then(() => {});
      await Bun.sleep(100);
      const t0 = Date.now();
      const err = await services.orders.place({ broker: "paper", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET", strategy_id: "manual", client_order_id: cid }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(err).toMatchObject({ code: "STORE_UNAVAILABLE", canRetry: true });
      await sleeping;
      // postgres.js pipelines the insert onto the busy connection (sent, so in doubt): it runs
      // after the sleep and is undone then.
      const end = Date.now() + 3_000;
      let left = -1;
      while (Date.now() < end) {
        const [n] = await store.sql`select count(*)::int as n from orders where client_order_id = ${cid}`;
        left = n?.n;
        if (left === 0) break;
        await Bun.sleep(50);
      }
      expect(left).toBe(0);
      await Bun.sleep(300);
      const [again] = await store.sql`select count(*)::int as n from orders where client_order_id = ${cid}`;
      expect(again?.n).toBe(0);
      expect(producer.delivered).toEqual([]);
    } finally {
      await services.close();
      await busy.close();
    }
  });

  test("PostgreSQL going away and coming back: 503 while it is away, orders again once it is back, no restart", async () => {
    // A proxy of the test's own in front of the shared PostgreSQL: "away" closes it and every
    // connection through it (the shared server is never touched).
    const target = new URL(db.url);
    type Pair = { client: { end(): void; write(b: Uint8Array): number }; upstream?: { end(): void; write(b: Uint8Array): number }; queued: Uint8Array[] };
    const pairs = new Set<Pair>();
    let server: { stop(closeActive?: boolean): void } | undefined;
    let port = 0;
    const listen = () => {
      const srv = Bun.listen<Pair>({
        hostname: "127.0.0.1",
        port,
        socket: {
          open(client) {
            const pair: Pair = { client, queued: [] };
            client.data = pair;
            pairs.add(pair);
            void Bun.connect<Pair>({
              hostname: target.hostname,
              port: Number(target.port),
              data: pair,
              socket: {
                open(up) {
                  pair.upstream = up;
                  for (const b of pair.queued.splice(0)) up.write(b);
                },
                data(_, b) {
                  pair.client.write(b);
                },
                close() {
                  pair.client.end();
                },
              },
            });
          },
          data(client, b) {
            const pair = client.data;
            if (pair.upstream) pair.upstream.write(b);
            else pair.queued.push(new Uint8Array(b));
          },
          close(client) {
            client.data.upstream?.end();
            pairs.delete(client.data);
          },
        },
      });
      port = srv.port;
      server = srv;
    };
    const away = () => {
      server?.stop(true);
      for (const p of pairs) (p.client.end(), p.upstream?.end());
      pairs.clear();
    };
    listen();
    const viaProxy = new URL(db.url);
    viaProxy.port = String(port);
    const proxied = await openStore({ databaseUrl: viaProxy.toString() });
    const producer = new CountingProducer();
    const services = createServices({ config: loadConfig({ FEED: "none" }), log, producer, store: proxied, cache: new MemoryCache(), logger: silent, instruments: NSE_MASTER });
    await services.start();
    const place = () =>
      services.orders.place({ broker: "paper", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET", strategy_id: "manual" }).then(
        (r) => r,
        (e: unknown) => e as { code: string },
      );
    try {
      expect(await place()).toMatchObject({ created: true });
      away();
      const t0 = Date.now();
      const down = await place();
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(down).toMatchObject({ code: "STORE_UNAVAILABLE", canRetry: true });
      const listed = await services.orders.list({ limit: 5 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(listed).toMatchObject({ code: "STORE_UNAVAILABLE", canRetry: true });
      listen();
      // Back: the same services, without a restart, within a few seconds.
      const end = Date.now() + 10_000;
      let back: unknown;
      while (Date.now() < end) {
        back = await place();
        if ((back as { created?: boolean }).created) break;
        await Bun.sleep(250);
      }
      expect(back).toMatchObject({ created: true, order: { status: "PENDING" } });
      await Bun.sleep(300);
      expect(producer.delivered.length).toBeGreaterThanOrEqual(2);
    } finally {
      await services.close();
      await proxied.close();
      away();
    }
  }, 30_000);

  test("orders a crash left unsent are sent exactly once by two gateways' relays at once", async () => {
    const producer = new CountingProducer();
    const rows = await Promise.all(Array.from({ length: 60 }, () => placeRow(store.sql, { leaseMs: 0 })));
    const relays = [0, 1].map(() => new OrderRelay({ sql: store.sql, producer, logger: silent, pollMs: 10, batch: 7 }));
    for (const r of relays) r.start();
    try {
      const want = new Set(rows.map((r) => r.eventId));
      const end = Date.now() + 10_000;
      while ([...want].some((id) => !producer.delivered.includes(id)) && Date.now() < end) await Bun.sleep(20);
      await Bun.sleep(300);
      const ours = producer.delivered.filter((id) => want.has(id));
      expect(new Set(ours).size).toBe(60);
      expect(ours).toHaveLength(60);
      expect(relays.every((r) => r.stats.sent > 0)).toBe(true);
    } finally {
      await Promise.all(relays.map((r) => r.close()));
    }
    const [left] = await store.sql`select count(*)::int as n from order_outbox where sent_at is null and failed_at is null`;
    expect(left?.n).toBe(0);
  });
});
