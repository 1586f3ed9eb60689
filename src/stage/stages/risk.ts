/**
 * The risk stage, per broker: every signal is validated or rejected with the checks that ran.
 * Limits and the trading state (the kill switch) live in PostgreSQL and are re-read every second;
 * positions come from the fills (rebuilt from the ledger at start), the day's P&L from the
 * portfolio read model. A daily-loss breach sets HALTED and writes it back for everyone to see.
 */
import type { Broker } from "../../config.ts";
import { childOf, type AnyEnvelope } from "../../events/envelope.ts";
import { derivedId } from "../../events/ids.ts";
import { instruments } from "../../market/instruments.ts";
import {
  DEFAULT_LIMITS,
  decide,
  evolveInPlace,
  expiredSignal,
  initialRiskState,
  istDay,
  parseLimits,
  riskContext,
  type RiskEvent,
  type RiskState,
  type TradingState,
} from "../../risk/index.ts";
import { topicName, brokerOfTopic } from "../../topics.ts";
import type { LogMessage } from "../../log/port.ts";
import type { StageContext } from "../context.ts";
import type { Outgoing } from "../processor.ts";
import type { Stage } from "../stage.ts";
import { lastPrices } from "../../market/last-prices.ts";
import { portfolioTotals } from "../../portfolio/read-model.ts";

export async function riskStage(ctx: StageContext): Promise<Stage> {
  const brokers = ctx.config.activeBrokers;
  const state = new Map<Broker, RiskState>();
  const seen = new Map<Broker, string>();
  const prices = lastPrices(ctx.cache);
  // In place: the stage keeps only the latest state (copying the books per fill was O(instruments)).
  const apply = (b: Broker, e: RiskEvent) => state.set(b, evolveInPlace(state.get(b)!, e));

  for (const b of brokers) {
    state.set(b, initialRiskState(DEFAULT_LIMITS));
    const now = Date.now();
    const positions = await ctx.db.query<{ strategy_id: string; instrument_token: string; net: string }>(
      `select strategy_id, instrument_token::text, sum(case when side = 'BUY' then quantity else -quantity end)::text as net
         from ledger_fills where broker = $1 group by 1, 2`,
      [b],
    );
    for (const p of positions) {
      const net = Number(p.net);
      if (net !== 0) apply(b, { type: "FillApplied", strategy_id: p.strategy_id, instrument_token: Number(p.instrument_token), side: net > 0 ? "BUY" : "SELL", quantity: Math.abs(net), at: now });
    }
    const today = await ctx.db.query<{ strategy_id: string; instrument_token: string; n: number }>(
      `select strategy_id, instrument_token::text, count(*)::int as n from orders
        where broker = $1 and status <> 'REJECTED' and (created_at at time zone 'Asia/Kolkata')::date = $2::date group by 1, 2`,
      [b, istDay(now)],
    );
    for (const t of today) for (let i = 0; i < t.n; i++) apply(b, { type: "SignalValidated", strategy_id: t.strategy_id, instrument_token: Number(t.instrument_token), at: now });
  }

  async function refresh(): Promise<void> {
    const now = Date.now();
    const rows = await ctx.db.query<{ broker: Broker; state: TradingState; reason: string | null; limits: Record<string, unknown> | null; v: string }>(
      `select t.broker, t.state, t.reason, l.limits, t.updated_at::text || '/' || coalesce(l.updated_at::text, '') as v
         from trading_state t left join risk_limits l using (broker) where t.broker = any($1)`,
      [brokers],
    );
    for (const r of rows) {
      if (seen.get(r.broker) !== r.v) {
        seen.set(r.broker, r.v);
        if (r.limits) {
          try {
            apply(r.broker, { type: "LimitsChanged", limits: parseLimits(r.limits), at: now });
          } catch (err) {
            ctx.logger.error({ broker: r.broker, err: (err as Error).message }, "stored risk limits are invalid; keeping the previous ones");
          }
        }
        if (state.get(r.broker)!.trading !== r.state) apply(r.broker, { type: "TradingStateSet", state: r.state, reason: r.reason ?? "set by operator", at: now });
      }
      const before = state.get(r.broker)!.trading;
      // While the read model is rebuilding (a cache flush) the day's P&L is unknown, not zero:
      // the last one seen stands until it is back.
      const totals = await portfolioTotals(ctx.cache, r.broker, ctx.config.startingCash);
      if (totals) apply(r.broker, { type: "PnlUpdated", realised_pnl: totals.realised_pnl, unrealised_pnl: totals.unrealised_pnl, fees: totals.fees, at: now });
      const after = state.get(r.broker)!;
      if (before !== "HALTED" && after.trading === "HALTED") {
        ctx.logger.warn({ broker: r.broker, reason: after.trading_reason }, "daily loss limit breached: trading HALTED");
        const [u] = await ctx.db.query<{ v: string }>(
          "update trading_state set state = 'HALTED', reason = $2, updated_at = now() where broker = $1 returning updated_at::text as v",
          [r.broker, after.trading_reason ?? "DAILY_LOSS_BREACHED"],
        );
        if (u) seen.set(r.broker, `${u.v}/${(r.v.split("/")[1] ?? "")}`);
      }
    }
  }
  await refresh();

  /** Everything but ticks (which are answered at once, with no promise). */
  async function onOrderFlow(e: AnyEnvelope, m: LogMessage): Promise<Outgoing[]> {
    const broker = brokerOfTopic(m.topic);
    if (broker === "shared" || !state.has(broker)) return [];
    if (e.type === "order.filled") {
      apply(broker, { type: "FillApplied", strategy_id: e.data.strategy_id, instrument_token: e.data.instrument_token, side: e.data.side, quantity: e.data.fill_quantity, at: Date.now() });
      return [];
    }
    if (e.type !== "signal.generated") return [];
    const now = Date.now();
    const signal = e.data;
    const late = expiredSignal(signal, now);
    if (late) {
      const child = childOf(e, {
        type: "signal.rejected",
        source: "risk",
        broker,
        key: e.key,
        data: { ...signal, checks: [{ rule: "SEND_DEADLINE", passed: false, detail: late.message }], ...late },
      });
      return [{ topic: topicName("signalsRejected", broker), event: { ...child, id: derivedId(e.id, "risk") } }];
    }
    const s = state.get(broker)!;
    const ctxRisk = riskContext(s, signal, { instrument: instruments.byToken(signal.instrument_token), last_price: await prices.get(signal.instrument_token) }, now);
    const d = decide(signal, s, ctxRisk);
    const id = derivedId(e.id, "risk");
    if (d.outcome === "validated") {
      apply(broker, { type: "SignalValidated", strategy_id: signal.strategy_id, instrument_token: signal.instrument_token, at: now });
      const child = childOf(e, { type: "signal.validated", source: "risk", broker, key: e.key, data: { ...signal, checks: d.checks } });
      return [{ topic: topicName("signalsValidated", broker), event: { ...child, id } }];
    }
    const child = childOf(e, {
      type: "signal.rejected",
      source: "risk",
      broker,
      key: e.key,
      data: { ...signal, checks: d.checks, reason_code: d.reason_code, message: d.message },
    });
    return [{ topic: topicName("signalsRejected", broker), event: { ...child, id } }];
  }

  return {
    idempotentTopics: [topicName("marketTicks")],
    // A tick only sets the last price a signal is checked against.
    conflate: { topics: [topicName("marketTicks")] },
    topics: [topicName("marketTicks"), ...brokers.flatMap((b) => [topicName("signalsRaw", b), topicName("ordersFilled", b)])],
    handle(e, m) {
      if (e.type === "market.tick") {
        prices.set(e.data.instrument_token, e.data.last_price);
        return [];
      }
      return onOrderFlow(e, m);
    },
    every: { ms: 1_000, run: refresh },
  };
}
