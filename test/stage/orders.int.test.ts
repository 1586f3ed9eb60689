/**
 * The orders stage (the orders read model, a companion in the portfolio's worker) against a real
 * database (embedded PGlite, and PostgreSQL): a batch's lifecycle events become the order's row,
 * events of a broker that is not active are left alone, and a batch whose write failed is written
 * whole by the retry.
 */
import { describe, expect, test } from "bun:test";
import pino from "pino";
import { MemoryCache } from "../../src/cache/memory.ts";
import { loadConfig } from "../../src/config.ts";
import { AlphaError } from "../../src/errors.ts";
import { createEvent, type AnyEnvelope } from "../../src/events/envelope.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import type { LogMessage } from "../../src/log/port.ts";
import { NSE_MASTER } from "../../src/market/instruments.ts";
import type { StageContext } from "../../src/stage/context.ts";
import { ORDERS_EVERY_MS, ordersStage } from "../../src/stage/stages/orders.ts";
import { STAGES } from "../../src/stage/stages.ts";
import { sqlDb, type Db } from "../../src/store/db.ts";
import { topicName } from "../../src/topics.ts";
import { onBothStores } from "../support/both-stores.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

const quiet = pino({ level: "silent" });
const order = { order_id: "ord-1", signal_id: "ord-1", strategy_id: "momentum_fast", instrument_token: 738561, side: "BUY" as const, quantity: 5, order_type: "MARKET" as const };

function chain(broker: "paper" | "zerodha"): Array<{ topic: string; e: AnyEnvelope }> {
  const ev = <T extends AnyEnvelope["type"]>(type: T, topic: Parameters<typeof topicName>[0], data: unknown) => ({
    topic: topicName(topic, broker),
    e: createEvent({ type, source: "test", broker, key: "738561", data } as never) as AnyEnvelope,
  });
  return [
    ev("signal.validated", "signalsValidated", { ...order, checks: [] }),
    ev("order.submitted", "ordersSubmitted", { ...order }),
    ev("order.filled", "ordersFilled", { ...order, fill_id: "ord-1-1", fill_quantity: 5, fill_price: 129_000, filled_quantity: 5, fees: 40, status: "FILLED" }),
  ];
}

test("the portfolio's worker runs the orders stage as a companion, on a consumer group of its own", () => {
  const orders = STAGES.portfolio.companions?.orders;
  expect(orders?.build).toBe(ordersStage);
  expect(orders?.groupId).not.toBe(STAGES.portfolio.groupId);
});

await onBothStores((name, open) => {
  describe(`orders stage: ${name}`, () => {
    test("a batch's lifecycle events make the order's row; a failed write is retried whole; another broker's events are left alone", async () => {
      const { store, done } = await open();
      try {
        const real = sqlDb(store.sql);
        let failNext = true;
        const calls: number[] = [];
        // A batch is read, folded and saved in one statement: each read starts one write here, and
        // the first save fails as a connection lost would.
        const db: Db = {
          query: (text, params, options) => {
            if (text.includes("from order_events where event_id = any")) calls.push(performance.now());
            if (failNext && text.includes("unchanged_since_read")) {
              failNext = false;
              return Promise.reject(new AlphaError("STORE_UNAVAILABLE", "connection reset", { canRetry: true }));
            }
            return real.query(text, params, options);
          },
        };
        const log = new MemoryLog();
        const config = loadConfig({ ACTIVE_BROKERS: "paper" });
        const ctx: StageContext = { config, logger: quiet, log, producer: log.producer(), db, cache: new MemoryCache(), instruments: NSE_MASTER, close: async () => {} };
        const stage = await ordersStage(ctx);
        expect(stage.topics).toContain(topicName("ordersFilled", "paper"));
        expect(stage.topics).not.toContain(topicName("ordersFilled", "zerodha"));

        for (const { topic, e } of [...chain("paper"), ...chain("zerodha")]) expect(await stage.handle(e, { topic } as LogMessage, quiet)).toEqual([]);
        let error: unknown;
        await Promise.resolve(stage.afterBatch!()).catch((err: unknown) => (error = err));
        expect((error as AlphaError)?.code).toBe("STORE_UNAVAILABLE");
        expect((await store.sql`select count(*)::int as n from orders`)[0]!.n).toBe(0);

        await stage.afterBatch!(); // the processor's retry: the same batch, nothing handled again
        const rows = await store.sql`select order_id, broker, status, filled_quantity, filled_value::text as filled_value from orders`;
        expect(rows.map((r) => ({ ...r }))).toEqual([{ order_id: "ord-1", broker: "paper", status: "FILLED", filled_quantity: 5, filled_value: "645000" }]);
        expect((await store.sql`select count(*)::int as n from order_events`)[0]!.n).toBe(3);

        await stage.afterBatch!(); // an empty batch writes nothing
        expect((await store.sql`select count(*)::int as n from order_events`)[0]!.n).toBe(3);
        // Written at most once per ORDERS_EVERY_MS (the retry came at once), and not at all for nothing.
        expect(calls.length).toBe(2);
        expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(ORDERS_EVERY_MS - 1);
      } finally {
        await done();
      }
    }, 60_000);
  });
});
