/**
 * The risk stage, per broker: every signal is validated or rejected with the checks that ran.
 * Limits and the trading state (the kill switch) live in PostgreSQL and are re-read every second.
 * Positions, the day's P&L, the day's counters and last prices come from the fills and ticks this
 * stage consumes itself (src/risk/fold.ts), saved in its own table (risk_books) once a batch's
 * outputs are acknowledged. Every decision is made by event time: a signal's or fill's envelope
 * `ts`, a tick's exchange time. A daily-loss breach sets HALTED and writes it back for everyone to see.
 */
import type { Broker } from "../../config.ts";
import { childOf, type AnyEnvelope, type Envelope } from "../../events/envelope.ts";
import { derivedId } from "../../events/ids.ts";
import { instruments } from "../../market/instruments.ts";
import type { Paise } from "../../money.ts";
import type { Position } from "../../portfolio/index.ts";
import {
  DEFAULT_LIMITS,
  advance,
  decide,
  emptyFold,
  evolveInPlace,
  expiredSignal,
  foldFill,
  foldTick,
  foldValidated,
  initialRiskState,
  parseLimits,
  restore,
  riskContext,
  rowOf,
  type RiskEvent,
  type RiskFold,
  type RiskState,
  type TradingState,
} from "../../risk/index.ts";
import { loadRiskBooks, saveRiskBooks } from "../../store/risk-books.ts";
import { partitionFor } from "../../log/partitioner.ts";
import { topicName, brokerOfTopic, TOPIC_TABLE } from "../../topics.ts";
import type { Consumer, LogMessage } from "../../log/port.ts";
import type { StageContext } from "../context.ts";
import type { Outgoing } from "../processor.ts";
import type { Stage } from "../stage.ts";
import { tickTimeMs as tickTime } from "../../events/time.ts";

export async function riskStage(ctx: StageContext): Promise<Stage> {
  const brokers = ctx.config.activeBrokers;
  const state = new Map<Broker, RiskState>();
  const seen = new Map<Broker, string>();
  // In place: the stage keeps only the latest state (copying the books per fill was O(instruments)).
  const apply = (b: Broker, e: RiskEvent) => state.set(b, evolveInPlace(state.get(b)!, e));
  for (const b of brokers) state.set(b, initialRiskState(DEFAULT_LIMITS));

  const { folds, prices, onTick, onFill, judgeAt, validated, onAssignment, save } = riskFold(ctx, state);
  await onAssignment(undefined);
  /** Daily-loss halts noticed, waiting to be written back (after the batch's outputs are sent). */
  const halts = new Map<Broker, string>();

  /**
   * The one point a daily-loss breach is noticed (a fill or a tick moved the day's P&L below the
   * limit): the halt is written back once the batch is sent, for the API and the other stages.
   */
  function haltIfBreached(b: Broker, before: TradingState): void {
    const after = state.get(b)!;
    if (before === "HALTED" || after.trading !== "HALTED") return;
    ctx.logger.warn({ broker: b, reason: after.trading_reason }, "daily loss limit breached: trading HALTED");
    halts.set(b, after.trading_reason ?? "DAILY_LOSS_BREACHED");
  }

  async function writeHalts(): Promise<void> {
    for (const [b, reason] of halts) {
      await ctx.db.query("update trading_state set state = 'HALTED', reason = $2, updated_at = now() where broker = $1", [b, reason]);
      halts.delete(b);
    }
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
    }
  }
  await refresh();

  /** Everything but ticks (which are answered at once, with no promise). */
  async function onOrderFlow(e: AnyEnvelope, m: LogMessage): Promise<Outgoing[]> {
    const broker = brokerOfTopic(m.topic);
    if (broker === "shared" || !state.has(broker)) return [];
    if (e.type === "order.filled") {
      const before = state.get(broker)!.trading;
      onFill(broker, e, m);
      haltIfBreached(broker, before);
      return [];
    }
    if (e.type !== "signal.generated") return [];
    const signal = e.data;
    const { at, clock } = judgeAt(broker, e);
    const late = expiredSignal(signal, clock);
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
    const ctxRisk = riskContext(s, signal, { instrument: instruments.byToken(signal.instrument_token), last_price: prices.get(signal.instrument_token) }, at);
    const d = decide(signal, s, ctxRisk);
    const id = derivedId(e.id, "risk");
    if (d.outcome === "validated") {
      validated(broker, signal, at, m);
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
    // A tick only sets the last price and the marks: the latest one of an instrument is enough.
    conflate: { topics: [topicName("marketTicks")] },
    topics: [topicName("marketTicks"), ...brokers.flatMap((b) => [topicName("signalsRaw", b), topicName("ordersFilled", b)])],
    onBatch: (consumer) => onAssignment(consumer),
    // Saved only once the batch's outputs are acknowledged, as execution's books are.
    async afterSend() {
      await save();
      await writeHalts();
    },
    handle(e, m) {
      if (e.type === "market.tick") {
        for (const b of folds.keys()) {
          const before = state.get(b)!.trading;
          onTick(b, e);
          haltIfBreached(b, before);
        }
        return [];
      }
      return onOrderFlow(e, m);
    },
    every: { ms: 1_000, run: refresh },
  };
}

/**
 * The stage's own fold, per broker, over the fills and ticks it consumes, and its saved rows
 * (risk_books): loaded at build and whenever the partitions it owns change, saved after each
 * batch's outputs were acknowledged (the rows that changed only). Updates `state` (the rules'
 * state, per broker) in place of the caller.
 * Several gateway processes: each worker's daily loss is over the instruments it owns (pnl.snapshots has the account's).
 */
function riskFold(ctx: StageContext, state: Map<Broker, RiskState>) {
  const brokers = ctx.config.activeBrokers;
  const folds = new Map<Broker, RiskFold>(brokers.map((b) => [b, emptyFold(b)]));
  // Last prices from the ticks this stage consumed, no one else's: unknown until the first one.
  const prices = new Map<number, Paise>();
  let owned: string | undefined;

  /** Loads the rows of the instruments whose partitions `consumer` owns (all of them before the first batch). */
  async function onAssignment(consumer: Consumer | undefined): Promise<void> {
    const assigned = consumer?.assignments();
    const key = assigned ? JSON.stringify(assigned.map((a) => `${a.topic}/${a.partition}`).sort()) : "all";
    if (key === owned) return;
    for (const b of brokers) {
      const topic = topicName("ordersFilled", b);
      const mine = assigned && new Set(assigned.filter((a) => a.topic === topic).map((a) => a.partition));
      const partitions = TOPIC_TABLE.ordersFilled.partitions;
      const rows = await loadRiskBooks<Position>(ctx.db, b, mine && ((token) => mine.has(partitionFor(String(token), partitions))));
      const r = restore(b, rows, state.get(b)!);
      // The clock and the prices of the instruments kept are still the latest (ticks are not saved).
      r.fold.clock = Math.max(r.fold.clock, folds.get(b)!.clock);
      for (const [token, price] of prices) r.state = foldTick(r.fold, r.state, token, price, r.fold.clock);
      folds.set(b, r.fold);
      state.set(b, r.state);
    }
    owned = key;
  }

  async function save(): Promise<void> {
    for (const [b, fold] of folds) {
      if (fold.dirty.size === 0) continue;
      await saveRiskBooks(ctx.db, b, [...fold.dirty].map((token) => rowOf(fold, state.get(b)!, token)));
      // Cleared after the write: a failed one is retried whole.
      fold.dirty.clear();
    }
  }

  return {
    folds,
    prices,
    onAssignment,
    save,
    onTick(b: Broker, e: Envelope<"market.tick">): void {
      prices.set(e.data.instrument_token, e.data.last_price);
      state.set(b, foldTick(folds.get(b)!, state.get(b)!, e.data.instrument_token, e.data.last_price, tickTime(e)));
    },
    onFill(b: Broker, e: Envelope<"order.filled">, m: LogMessage): void {
      state.set(b, foldFill(folds.get(b)!, state.get(b)!, e.data, Date.parse(e.ts), { partition: m.partition, offset: m.offset }));
    },
    /** A signal's event time, and the event clock (with it) its send deadline is judged by. */
    judgeAt(b: Broker, e: Envelope<"signal.generated">): { at: number; clock: number } {
      const at = Date.parse(e.ts);
      const fold = folds.get(b)!;
      state.set(b, advance(fold, state.get(b)!, at));
      return { at, clock: fold.clock };
    },
    validated(b: Broker, signal: { strategy_id: string; instrument_token: number }, at: number, m: LogMessage): void {
      state.set(b, foldValidated(folds.get(b)!, state.get(b)!, signal.strategy_id, signal.instrument_token, at, { partition: m.partition, offset: m.offset }));
    },
  };
}
