/**
 * The risk stage, per broker: every signal is validated or rejected with the checks that ran.
 * Limits and the trading state (the kill switch) are commands on `{broker}.control`, applied in
 * log order from a ControlReader; before the first signal of each batch it catches up with that
 * topic, so a control acknowledged before a signal was created judges it.
 * Positions, the day's P&L, the day's counters and last prices come from the fills and ticks this
 * stage consumes itself (src/risk/fold.ts), saved in its own table (risk_books) once a batch's
 * outputs are acknowledged. Every decision is made by event time: a signal's or fill's envelope
 * `ts`, a tick's exchange time. A daily-loss breach sets HALTED and writes it to the control topic
 * for every process to apply.
 */
import type { Broker } from "../../config.ts";
import { controlEnvelope, ControlReader, strategyVerdict, type AppliedControl } from "../../control/index.ts";
import { childOf, type AnyEnvelope, type Envelope } from "../../events/envelope.ts";
import { derivedId } from "../../events/ids.ts";
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
  restore,
  riskContext,
  rowOf,
  type RiskEvent,
  type RiskFold,
  type RiskState,
  type TradingState,
} from "../../risk/index.ts";
import { loadCalendar } from "../../market/calendar.ts";
import { loadRiskBooks, saveRiskBooks } from "../../store/risk-books.ts";
import { StagePrices } from "../../store/stage-prices.ts";
import { partitionFor } from "../../log/partitioner.ts";
import { topicName, brokerOfTopic, TOPIC_TABLE } from "../../topics.ts";
import type { Consumer, LogMessage } from "../../log/port.ts";
import type { StageContext } from "../context.ts";
import type { Outgoing } from "../processor.ts";
import type { Stage } from "../stage.ts";
import { tickTimeMs as tickTime } from "../../events/time.ts";
import { judgeModify } from "./risk-modify.ts";

export async function riskStage(ctx: StageContext): Promise<Stage> {
  const brokers = ctx.config.activeBrokers;
  // MARKET_HOURS=nse: orders for a closed market are refused MARKET_CLOSED (src/risk/rules.ts).
  const hours = ctx.config.marketHours === "nse" ? loadCalendar(ctx.config.marketCalendarFile) : undefined;
  const state = new Map<Broker, RiskState>();
  // In place: the stage keeps only the latest state (copying the books per fill was O(instruments)).
  // A breach that halts trading is noted, to be written to the control topic (controlSide).
  const apply = (b: Broker, e: RiskEvent) => {
    const before = state.get(b)!.trading;
    state.set(b, evolveInPlace(state.get(b)!, e));
    if (e.type !== "TradingStateSet") haltIfBreached(b, before);
  };
  const breached = new Set<Broker>();
  for (const b of brokers) state.set(b, initialRiskState(DEFAULT_LIMITS));

  const { folds, prices, onTick, onFill, judgeAt, validated, onAssignment, save } = riskFold(ctx, state);
  await onAssignment(undefined);
  /**
   * The one point a daily-loss breach is noticed (a fill, a tick or tighter limits moved the day's
   * P&L below the limit): the halt is written to the control topic with the batch's outputs.
   */
  function haltIfBreached(b: Broker, before: TradingState): void {
    if (before !== "HALTED" && state.get(b)!.trading === "HALTED") breached.add(b);
  }

  const controls = controlSide(ctx, brokers, state, apply, breached);
  await controls.start();

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
    if (e.type === "order.modify") {
      await controls.caughtUpOncePerBatch();
      const token = e.data.instrument_token;
      return [judgeModify(e, broker, state.get(broker)!, { instrument: ctx.instruments.byToken(token), last_price: prices.get(token) }, judgeAt(broker, e).at)];
    }
    if (e.type !== "signal.generated") return [];
    await controls.caughtUpOncePerBatch();
    const signal = e.data;
    const refused = controls.refuse(broker, e);
    if (refused) return [refused];
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
    const ctxRisk = riskContext(s, signal, { instrument: ctx.instruments.byToken(signal.instrument_token), last_price: prices.get(signal.instrument_token), hours }, at);
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
    conflation: { topics: [topicName("marketTicks")] },
    topics: [topicName("marketTicks"), ...brokers.flatMap((b) => [topicName("signalsRaw", b), topicName("ordersFilled", b)])],
    onBatch: (consumer) => {
      controls.onBatch();
      return onAssignment(consumer);
    },
    // Saved only once the batch's outputs are acknowledged, as execution's books are.
    afterSend: save,
    handle(e, m) {
      if (e.type === "market.tick") {
        for (const b of folds.keys()) {
          const before = state.get(b)!.trading;
          onTick(b, e);
          haltIfBreached(b, before);
        }
        return breached.size === 0 ? [] : controls.halts(e);
      }
      if (breached.size === 0) return onOrderFlow(e, m);
      return onOrderFlow(e, m).then((out) => [...out, ...controls.halts(e)]);
    },
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
  // Last prices from the ticks this stage consumed, no one else's, saved in its own rows so that an
  // instrument it takes over (a restart, a rebalance) has its price before the next tick.
  const prices = new StagePrices(ctx.db, "risk");
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
      // Marked at the latest prices it knows: its own ticks', else those it saved (once a second
      // of tick time, so newer than the rows' marks, which are saved with fills and signals).
      if (owned === undefined) await prices.load();
      for (const [token, price] of prices.entries()) r.state = foldTick(r.fold, r.state, token, price, r.fold.clock);
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
    await prices.saveIfDue();
  }

  return {
    folds,
    prices,
    onAssignment,
    save,
    onTick(b: Broker, e: Envelope<"market.tick">): void {
      const at = tickTime(e);
      prices.set(e.data.instrument_token, e.data.last_price, at);
      state.set(b, foldTick(folds.get(b)!, state.get(b)!, e.data.instrument_token, e.data.last_price, at));
    },
    onFill(b: Broker, e: Envelope<"order.filled">, m: LogMessage): void {
      state.set(b, foldFill(folds.get(b)!, state.get(b)!, e.data, Date.parse(e.ts), { partition: m.partition, offset: m.offset }));
    },
    /** A signal's event time, and the event clock (with it) its send deadline is judged by. */
    judgeAt(b: Broker, e: Pick<AnyEnvelope, "ts">): { at: number; clock: number } {
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
