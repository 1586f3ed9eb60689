/**
 * The portfolio stage. Every fill is written to the PostgreSQL ledger keyed by its event id (one
 * statement: a redelivered fill inserts nothing and changes nothing), then applied to the
 * positions (src/portfolio), which are written to the cache under `{broker}:positions`. Ticks
 * mark positions to market and keep `market:last`. The stage also keeps the orders read model
 * and publishes `{broker}.pnl.snapshots` every few seconds. At start, and whenever its partitions
 * change, it rebuilds the positions from the ledger: a restart gives the same portfolio.
 */
import type { Broker } from "../../config.ts";
import { createEvent } from "../../events/envelope.ts";
import type { PayloadOf } from "../../events/payloads.ts";
import { encodeEnvelope } from "../../events/envelope.ts";
import type { Consumer } from "../../log/port.ts";
import { evolve, initialPortfolio, mark, positionKey, rebuild, type PortfolioState } from "../../portfolio/index.ts";
import { brokerOfTopic, topicName } from "../../topics.ts";
import type { StageContext } from "../context.ts";
import type { Stage } from "../stage.ts";
import { LAST_PRICES_KEY } from "./market.ts";
import { projectOrder } from "./orders-projection.ts";
import { positionsKey, portfolioTotals } from "./positions.ts";

const LEDGER_INSERT = `
insert into ledger_fills (event_id, broker, fill_id, order_id, strategy_id, instrument_token, side, quantity, price, fees, filled_at)
values ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::timestamptz)
on conflict do nothing returning event_id`;

type Fill = PayloadOf<"order.filled">;

export async function portfolioStage(ctx: StageContext): Promise<Stage> {
  const brokers = ctx.config.activeBrokers;
  const state = new Map<Broker, PortfolioState>();
  const dirty = new Map<Broker, Set<string>>(brokers.map((b) => [b, new Set()]));
  const marks = new Map<string, string>();
  let owned: string | undefined;
  let ownsSnapshot = new Set<Broker>(brokers);

  async function load(): Promise<void> {
    const last = await ctx.cache.hgetall(LAST_PRICES_KEY);
    for (const b of brokers) {
      const rows = await ctx.db.query<Record<string, string | number>>(
        `select fill_id, order_id, strategy_id, instrument_token::text, side, quantity, price::text, fees::text
           from ledger_fills where broker = $1 order by seq`,
        [b],
      );
      const fills = rows.map((r) => fillOf(r));
      let s = fills.length > 0 ? rebuild(fills, { broker: b, starting_cash: ctx.config.startingCash }) : initialPortfolio({ broker: b, starting_cash: ctx.config.startingCash });
      // Every known last price, not only those of held instruments: a later first fill is then
      // marked at the market, as it is in the live path.
      for (const [token, price] of Object.entries(last)) s = mark(s, { instrument_token: Number(token), last_price: Number(price) });
      state.set(b, s);
      const fields: Record<string, string> = {};
      for (const [key, p] of Object.entries(s.positions)) fields[key] = JSON.stringify(p);
      if (Object.keys(fields).length > 0) await ctx.cache.hset(positionsKey(b), fields);
      ctx.logger.info({ broker: b, fills: fills.length, positions: Object.keys(fields).length }, "portfolio rebuilt from the ledger");
    }
  }

  async function snapshots(): Promise<void> {
    const out = [];
    for (const b of ownsSnapshot) {
      const t = await portfolioTotals(ctx.cache, b, ctx.config.startingCash);
      const data: PayloadOf<"pnl.snapshot"> = { broker: b, cash: t.cash, realised_pnl: t.realised_pnl, unrealised_pnl: t.unrealised_pnl, fees: t.fees, positions: t.open_positions };
      const e = createEvent({ type: "pnl.snapshot", source: "portfolio", broker: b, key: b, data });
      out.push({ topic: topicName("pnlSnapshots", b), key: b, value: encodeEnvelope(e) });
    }
    if (out.length > 0) await ctx.producer.send(out);
  }

  // Rebuilt now, not at the first batch: a quiet market must still show the portfolio.
  await load();

  const orderTopics = brokers.flatMap((b) =>
    (["ordersFilled", "signalsValidated", "signalsRejected", "ordersSubmitted", "ordersRejected", "ordersCancelled", "ordersFailed"] as const).map((id) => topicName(id, b)),
  );

  return {
    topics: [topicName("marketTicks"), ...orderTopics],
    async onBatch(consumer: Consumer) {
      const assigned = consumer.assignments();
      const now = JSON.stringify(assigned.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition));
      if (now === owned) return;
      const first = owned === undefined;
      owned = now;
      // One worker per broker publishes snapshots: the owner of partition 0 of its fills topic.
      ownsSnapshot = new Set(brokers.filter((b) => assigned.some((a) => a.topic === topicName("ordersFilled", b) && a.partition === 0)));
      // Partitions moved: positions another worker kept may have changed; the ledger has them all.
      if (!first) await load();
    },
    async afterBatch() {
      for (const [b, keys] of dirty) {
        if (keys.size === 0) continue;
        const s = state.get(b)!;
        const fields: Record<string, string> = {};
        for (const k of keys) fields[k] = JSON.stringify(s.positions[k]);
        keys.clear();
        await ctx.cache.hset(positionsKey(b), fields);
      }
      if (marks.size > 0) {
        await ctx.cache.hset(LAST_PRICES_KEY, Object.fromEntries(marks));
        marks.clear();
      }
    },
    async handle(e, m) {
      if (e.type === "market.tick") {
        const token = String(e.data.instrument_token);
        marks.set(token, String(e.data.last_price));
        for (const [b, s] of state) {
          // Marked even with no position yet, so the first fill's unrealised P&L uses the market.
          state.set(b, mark(s, e.data));
          for (const k of s.by_instrument[token] ?? []) dirty.get(b)!.add(k);
        }
        return [];
      }
      const broker = brokerOfTopic(m.topic);
      if (broker === "shared" || !state.has(broker)) return [];
      if (e.type === "order.filled") {
        const f = e.data;
        const inserted = await ctx.db.query(LEDGER_INSERT, [e.id, broker, f.fill_id, f.order_id, f.strategy_id, f.instrument_token, f.side, f.fill_quantity, f.fill_price, f.fees, e.ts]);
        if (inserted.length > 0) {
          state.set(broker, evolve(state.get(broker)!, f));
          dirty.get(broker)!.add(positionKey(f.strategy_id, f.instrument_token));
        }
      }
      await projectOrder(ctx.db, e);
      return [];
    },
    every: { ms: 5_000, run: snapshots },
  };
}

function fillOf(r: Record<string, string | number>): Fill {
  return {
    order_id: String(r.order_id),
    signal_id: String(r.order_id),
    strategy_id: String(r.strategy_id),
    instrument_token: Number(r.instrument_token),
    side: r.side as Fill["side"],
    quantity: Number(r.quantity),
    order_type: "MARKET",
    fill_id: String(r.fill_id),
    fill_quantity: Number(r.quantity),
    fill_price: Number(r.price),
    filled_quantity: Number(r.quantity),
    fees: Number(r.fees),
    status: "FILLED",
  };
}
