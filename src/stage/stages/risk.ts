/**
 * The risk stage, per broker: every signal is validated or rejected with the checks that ran.
 * Limits and the trading state (the kill switch) are commands on `{broker}.control`, applied in
 * log order from a ControlReader; before the first signal of each batch it catches up with that
 * topic, so a control acknowledged before a signal was created judges it. Positions come from the
 * fills (rebuilt from the ledger at start), the day's P&L from the portfolio read model. A
 * daily-loss breach sets HALTED and writes it to the control topic for every process to apply.
 */
import type { Broker } from "../../config.ts";
import { controlEnvelope, ControlReader, strategyVerdict, type AppliedControl } from "../../control/index.ts";
import { childOf, type AnyEnvelope, type Envelope } from "../../events/envelope.ts";
import { derivedId } from "../../events/ids.ts";
import { instruments } from "../../market/instruments.ts";
import {
  DEFAULT_LIMITS,
  decide,
  evolveInPlace,
  expiredSignal,
  initialRiskState,
  istDay,
  riskContext,
  type RiskEvent,
  type RiskState,
} from "../../risk/index.ts";
import { topicName, brokerOfTopic } from "../../topics.ts";
import type { LogMessage } from "../../log/port.ts";
import type { StageContext } from "../context.ts";
import type { Outgoing } from "../processor.ts";
import type { Stage } from "../stage.ts";
import { lastPrices } from "./market.ts";
import { portfolioTotals } from "./positions.ts";

export async function riskStage(ctx: StageContext): Promise<Stage> {
  const brokers = ctx.config.activeBrokers;
  const state = new Map<Broker, RiskState>();
  const prices = lastPrices(ctx.cache);
  // In place: the stage keeps only the latest state (copying the books per fill was O(instruments)).
  // A breach that halts trading is noted, to be written to the control topic (controlSide).
  const apply = (b: Broker, e: RiskEvent) => {
    const before = state.get(b)!.trading;
    state.set(b, evolveInPlace(state.get(b)!, e));
    if (before !== "HALTED" && e.type !== "TradingStateSet" && state.get(b)!.trading === "HALTED") breached.add(b);
  };
  const breached = new Set<Broker>();

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

  const controls = controlSide(ctx, brokers, state, apply, breached);
  await controls.start();

  /** The day's P&L from the portfolio read model, every second. */
  async function refresh(): Promise<void> {
    const now = Date.now();
    for (const b of brokers) {
      // While the read model is rebuilding (a cache flush) the day's P&L is unknown, not zero:
      // the last one seen stands until it is back.
      const totals = await portfolioTotals(ctx.cache, b, ctx.config.startingCash);
      if (totals) apply(b, { type: "PnlUpdated", realised_pnl: totals.realised_pnl, unrealised_pnl: totals.unrealised_pnl, fees: totals.fees, at: now });
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
    await controls.caughtUpOncePerBatch();
    const now = Date.now();
    const signal = e.data;
    const refused = controls.refuse(broker, e);
    if (refused) return [refused];
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
    onBatch: controls.onBatch,
    handle(e, m) {
      if (e.type === "market.tick") {
        prices.set(e.data.instrument_token, e.data.last_price);
        return breached.size === 0 ? [] : controls.halts(e);
      }
      if (breached.size === 0) return onOrderFlow(e, m);
      return onOrderFlow(e, m).then((out) => [...out, ...controls.halts(e)]);
    },
    every: { ms: 1_000, run: refresh },
  };
}

/**
 * The control side of the risk stage: the trading state and limits from `{broker}.control`
 * (applied as RiskEvents, in log order, stamped with the command's ts), the catch-up before the
 * first signal of each batch, the strategy checks, and the daily-loss halt written as a command.
 */
function controlSide(ctx: StageContext, brokers: readonly Broker[], state: Map<Broker, RiskState>, apply: (b: Broker, e: RiskEvent) => void, breached: Set<Broker>) {
  const reader = new ControlReader(ctx.log, brokers, { name: "risk", logger: ctx.logger });
  reader.onCommand((c: AppliedControl) => {
    if (!state.has(c.broker)) return;
    const cmd = c.command;
    if (cmd.type === "control.trading_state") apply(c.broker, { type: "TradingStateSet", state: cmd.data.state, reason: cmd.data.reason || "set by operator", at: c.at });
    else if (cmd.type === "control.limits") apply(c.broker, { type: "LimitsChanged", limits: cmd.data.limits, at: c.at });
  });
  let caught = false;
  return {
    /** Joins and applies every control the log holds before the stage takes its first batch. */
    async start(): Promise<void> {
      await reader.start();
      await reader.caughtUp();
      // What the log held (the last halt, a breach's own command) is applied: nothing to write yet.
      breached.clear();
    },
    onBatch(): void {
      caught = false;
    },
    /**
     * Once per batch, before its first signal: the signal was in the log before this batch was
     * fetched, and any control acknowledged before the signal was created is below the end
     * offset read now, so it is applied when this resolves.
     */
    async caughtUpOncePerBatch(): Promise<void> {
      if (caught) return;
      await reader.caughtUp();
      caught = true;
    },
    /** A strategy's signal refused under risk's own view of its strategy (API orders carry no strategy_offset). */
    refuse(broker: Broker, e: Envelope<"signal.generated">): Outgoing | undefined {
      const signal = e.data;
      if (signal.strategy_offset === undefined) return undefined;
      const verdict = strategyVerdict(reader.state(broker), broker, signal.strategy_id, signal.strategy_offset);
      if (!verdict) return undefined;
      const child = childOf(e, {
        type: "signal.rejected",
        source: "risk",
        broker,
        key: e.key,
        data: { ...signal, checks: [{ rule: verdict.reason_code, passed: false, detail: verdict.message }], ...verdict },
      });
      return { topic: topicName("signalsRejected", broker), event: { ...child, id: derivedId(e.id, "risk") } };
    },
    /**
     * The HALTED commands of the brokers whose daily loss was breached, as outputs of the event
     * being handled (acknowledged before its batch commits; ids derived from it, so a redelivery
     * writes the same). Only while still HALTED: an operator may have lifted it meanwhile.
     */
    halts(e: AnyEnvelope): Outgoing[] {
      const out: Outgoing[] = [];
      for (const b of breached) {
        const s = state.get(b)!;
        if (s.trading !== "HALTED") continue;
        ctx.logger.warn({ broker: b, reason: s.trading_reason }, "daily loss limit breached: trading HALTED");
        const cmd = controlEnvelope(b, { type: "control.trading_state", data: { state: "HALTED", reason: s.trading_reason ?? "DAILY_LOSS_BREACHED" } }, "risk");
        out.push({ topic: topicName("control", b), event: { ...cmd, id: derivedId(e.id, `risk/halt/${b}`), causation_id: e.id, correlation_id: e.correlation_id, trace_id: e.trace_id } });
      }
      breached.clear();
      return out;
    },
    close: () => reader.close(),
  };
}
