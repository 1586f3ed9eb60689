/**
 * The risk stage, per broker: every signal is validated or rejected with the checks that ran.
 * Limits and the trading state (the kill switch) are commands on `{broker}.control`, applied in
 * log order from a ControlReader; before the first signal of each batch it catches up with that
 * topic, so a control acknowledged before a signal was created judges it.
 * Positions, the day's P&L, the day's counters and last prices come from the fills and ticks this
 * stage consumes itself (src/risk/fold.ts), saved in its own table (risk_books) once a batch's
 * outputs are acknowledged. Every decision is made by event time: a signal's or fill's envelope
 * `ts`, a tick's exchange time. A daily-loss breach sets REDUCING, writes it to the control topic
 * for every process to apply, and squares off the intraday positions; with MARKET_HOURS=nse they
 * are squared off at MIS_SQUARE_OFF_AT too (src/stage/stages/risk-day-end.ts).
 */
import type { Broker } from "../../config.ts";
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
  isRedelivery,
  restore,
  riskContext,
  rowOf,
  type DayEndRow,
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
import { controlSide } from "./risk-controls.ts";
import { dayEndSide } from "./risk-day-end.ts";

export async function riskStage(ctx: StageContext): Promise<Stage> {
  const brokers = ctx.config.activeBrokers;
  /** Where signals and modifies come: a batch with one of them needs the controls caught up. */
  const signalTopics = new Set(brokers.map((b) => topicName("signalsRaw", b)));
  // MARKET_HOURS=nse: orders for a closed market are refused MARKET_CLOSED (src/risk/rules.ts).
  const hours = ctx.config.marketHours === "nse" ? loadCalendar(ctx.config.marketCalendarFile) : undefined;
  const state = new Map<Broker, RiskState>();
  // In place: the stage keeps only the latest state (copying the books per fill was O(instruments)).
  // A breach that makes trading REDUCING is noted, to be written to the control topic (controlSide).
  const apply = (b: Broker, e: RiskEvent) => {
    const before = state.get(b)!.trading;
    state.set(b, evolveInPlace(state.get(b)!, e));
    if (e.type !== "TradingStateSet") noteBreach(b, before);
  };
  const breached = new Set<Broker>();
  for (const b of brokers) state.set(b, initialRiskState(DEFAULT_LIMITS));

  const dayEnd = dayEndSide(ctx, brokers, (token) => prices.get(token));
  const { folds, prices, onTick, onFill, judgeAt, validated, onAssignment, save } = riskFold(ctx, state, dayEnd);
  await onAssignment(undefined);
  /**
   * The one point a daily-loss breach is noticed (a fill, a tick or tighter limits moved the day's
   * P&L below the limit): REDUCING is written to the control topic with the batch's outputs.
   */
  function noteBreach(b: Broker, before: TradingState): void {
    if (before === "ACTIVE" && state.get(b)!.trading === "REDUCING") breached.add(b);
  }
  /** What the event `e` that moved the clocks (and perhaps breached the daily loss) makes risk send itself. */
  function dayEndAfter(e: AnyEnvelope, brokersMoved: Iterable<Broker>): Outgoing[] {
    const out: Outgoing[] = [];
    for (const b of brokersMoved) out.push(...dayEnd.onClock(b, folds.get(b)!, e));
    if (breached.size === 0) return out;
    const { out: commands, reducing } = controls.breaches(e);
    out.push(...commands);
    for (const b of reducing) out.push(...dayEnd.liquidate(b, folds.get(b)!, e, state.get(b)!.trading_reason ?? "DAILY_LOSS_BREACHED"));
    return out;
  }

  const controls = controlSide(ctx, brokers, state, apply, breached);
  await controls.start();

  /** Everything but ticks (which are answered at once, with no promise). */
  async function onOrderFlow(e: AnyEnvelope, m: LogMessage): Promise<Outgoing[]> {
    const broker = brokerOfTopic(m.topic);
    if (broker === "shared" || !state.has(broker)) return [];
    if (e.type === "order.filled") {
      const before = state.get(broker)!.trading;
      const counters = onFill(broker, e, m);
      noteBreach(broker, before);
      return [...counters, ...dayEndAfter(e, [broker])];
    }
    if (e.type === "order.modify") {
      await controls.caughtUpOncePerBatch();
      const token = e.data.instrument_token;
      return [judgeModify(e, broker, state.get(broker)!, { instrument: ctx.instruments.byToken(token), last_price: prices.get(token), hours, mis_square_off_minute: ctx.config.misSquareOffMinute }, judgeAt(broker, e).at)];
    }
    if (e.type !== "signal.generated") return [];
    await controls.caughtUpOncePerBatch();
    const refused = controls.refuse(broker, e);
    if (refused) return [refused];
    const { at, clock } = judgeAt(broker, e);
    const squared = dayEndAfter(e, [broker]);
    if (squared.length > 0) return [...squared, ...(await onSignal(broker, e, m, at, clock))];
    return onSignal(broker, e, m, at, clock);
  }

  /** A signal judged at `at`, its send deadline against the event clock `clock`. */
  async function onSignal(broker: Broker, e: Envelope<"signal.generated">, m: LogMessage, at: number, clock: number): Promise<Outgoing[]> {
    const signal = e.data;
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
    const ctxRisk = riskContext(s, signal, { instrument: ctx.instruments.byToken(signal.instrument_token), last_price: prices.get(signal.instrument_token), hours, mis_square_off_minute: ctx.config.misSquareOffMinute }, at);
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
    onBatch: (consumer, batch) => {
      controls.onBatch(batch?.some((m) => signalTopics.has(m.topic)) ?? false);
      return onAssignment(consumer);
    },
    // Saved only once the batch's outputs are acknowledged, as execution's books are.
    afterSend: save,
    dueAt: () => dayEnd.dueAt(),
    handle(e, m) {
      if (e.type === "market.tick") {
        for (const b of folds.keys()) {
          const before = state.get(b)!.trading;
          onTick(b, e);
          noteBreach(b, before);
        }
        return dayEndAfter(e, folds.keys());
      }
      return onOrderFlow(e, m);
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
function riskFold(ctx: StageContext, state: Map<Broker, RiskState>, dayEnd: ReturnType<typeof dayEndSide>) {
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
      dayEnd.restore(b, rows as ReadonlyArray<{ token: number; day_end?: DayEndRow }>);
    }
    owned = key;
  }

  async function save(): Promise<void> {
    for (const [b, fold] of folds) {
      if (fold.dirty.size === 0) continue;
      await saveRiskBooks(ctx.db, b, [...fold.dirty].map((token) => ({ ...rowOf(fold, state.get(b)!, token), day_end: { ...dayEnd.rowOf(b, token) } })));
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
    /** A fill, once (a redelivery changes nothing), and the day's end's counter-order if it came after the square-off. */
    onFill(b: Broker, e: Envelope<"order.filled">, m: LogMessage): Outgoing[] {
      const fold = folds.get(b)!;
      const where = { partition: m.partition, offset: m.offset };
      if (isRedelivery(fold.applied.get(String(e.data.instrument_token))?.fill, where)) return [];
      const at = Date.parse(e.ts);
      let s = foldFill(fold, state.get(b)!, e.data, at, where);
      // Ticks and fills are two topics: a tick read before the fill that opened the position marked
      // nothing, so the position is marked at the latest price known (as the portfolio does).
      const last = prices.get(e.data.instrument_token);
      if (last !== undefined) s = foldTick(fold, s, e.data.instrument_token, last, at);
      state.set(b, s);
      return dayEnd.onFill(b, fold, state.get(b)!, e);
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
