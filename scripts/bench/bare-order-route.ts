/**
 * The reference under `POST /api/v1/orders` (bench section "api"): a bare Hono route on Bun.serve
 * that writes one row to the store and one record to the log, then answers 202; the least a
 * durable order entry can do on this machine with our adapters. No gateway, no key check, no
 * validation, no stages.
 *
 *   bun scripts/bench/bare-order-route.ts
 *
 * Embedded (no DATABASE_URL, no KAFKA_BROKERS): PGlite in its own thread through `openStore`, and
 * the in-process log, as the embedded gateway has them. With DATABASE_URL and KAFKA_BROKERS: that
 * PostgreSQL and Kafka through `openLog` (acks=all, idempotent, the gateway's producer settings),
 * into a topic of its own with signals.raw's partitions, deleted on exit. Prints one JSON line
 * {"url": …} once it listens; SIGINT or SIGTERM stops it.
 *
 * BARE_STATEMENT=order: the row is our order intake's own statement instead (the order, its first
 * event and its outbox row: src/store/outbox.ts `insertOrder`), the record its envelope: what the
 * gateway's durable write costs without the gateway around it.
 */
import { Admin } from "@platformatic/kafka";
import { Hono } from "hono";
import { loadConfig } from "../../src/config.ts";
import { openLog } from "../../src/log/index.ts";
import { prepared } from "../../src/store/db.ts";
import { openStore } from "../../src/store/index.ts";
import { insertOrder } from "../../src/store/outbox.ts";
import { TOPIC_TABLE } from "../../src/topics.ts";

const TOPIC = `bench.bare.orders.${process.pid}`;
const config = loadConfig(process.env);
const store = await openStore({ databaseUrl: config.databaseUrl });
// A table of its own, like the orders table's first columns: one row an order.
await store.sql.unsafe(`create table if not exists bench_bare_orders (
  order_id uuid primary key, broker text not null, instrument_token bigint not null, side text not null,
  quantity bigint not null, order_type text not null, strategy_id text not null, created_at timestamptz not null default now())`);
const log = openLog(config, "bench-bare");
await log.createTopics([{ name: TOPIC, partitions: TOPIC_TABLE.signalsRaw.partitions, retentionMs: 3_600_000 }]);
const producer = log.producer({ clientId: "bench-bare" });
const ownStatement = process.env.BARE_STATEMENT === "order";

type Body = { broker: string; instrument_token: number; side: string; quantity: number; order_type: string; strategy_id?: string };

/** Our intake's statement for the order, and the envelope it would send (no gateway code). */
async function insertOurs(o: Body, orderId: string, key: string): Promise<string> {
  const eventId = crypto.randomUUID();
  const ts = new Date().toISOString();
  const data = { signal_id: orderId, strategy_id: o.strategy_id ?? "manual", instrument_token: o.instrument_token, side: o.side as "BUY", quantity: o.quantity, order_type: o.order_type as "MARKET", expires_at: new Date(Date.now() + 30_000).toISOString() };
  const envelope = JSON.stringify({ id: eventId, type: "signal.generated", ts, broker: o.broker, key, data });
  const message = { event_id: eventId, order_id: orderId, topic: TOPIC, key, envelope, expires_at: Date.now() + 30_000 };
  const { signal_id: _, expires_at: __, ...fields } = data;
  await insertOrder(store.sql, { ...fields, order_id: orderId, broker: o.broker, correlation_id: eventId }, { event_id: eventId, type: "signal.generated", ts, data }, message, 5_000);
  return envelope;
}

const app = new Hono();
app.post("/api/v1/orders", async (c) => {
  const o = (await c.req.json()) as Body;
  const orderId = crypto.randomUUID();
  const key = String(o.instrument_token);
  const order = { order_id: orderId, status: "PENDING", ...o };
  if (ownStatement) {
    await producer.send([{ topic: TOPIC, key, value: await insertOurs(o, orderId, key) }]);
    return c.json({ order }, 202);
  }
  await prepared(store.sql, `insert into bench_bare_orders (order_id, broker, instrument_token, side, quantity, order_type, strategy_id) values ($1, $2, $3, $4, $5, $6, $7)`, [
    orderId,
    o.broker,
    o.instrument_token,
    o.side,
    o.quantity,
    o.order_type,
    o.strategy_id ?? "manual",
  ]);
  await producer.send([{ topic: TOPIC, key, value: JSON.stringify({ type: "signal.generated", data: order }) }]);
  return c.json({ order }, 202);
});

const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
console.log(JSON.stringify({ url: `http://127.0.0.1:${server.port}` }));

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.stop(true);
  await producer.close();
  await log.close();
  if (config.kafka) {
    const admin = new Admin({ clientId: "alpha-panda-bench-admin", bootstrapBrokers: config.kafka.brokers });
    admin.on("error", () => {});
    await admin.deleteTopics({ topics: [TOPIC] }).catch(() => {});
    await admin.close().catch(() => {});
  }
  await store.sql.unsafe(`drop table if exists bench_bare_orders`).catch(() => {});
  await store.close();
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
