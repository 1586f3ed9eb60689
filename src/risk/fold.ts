/**
 * Risk's own fold of a broker's exposure and P&L, from the fills and ticks the risk stage consumes
 * (co-partitioned with the signals it judges), by event time. The P&L is the portfolio's own fold
 * (src/portfolio: a fill evolves it, a tick marks it), not a second implementation; the rules'
 * state (`RiskState`) learns it as `PnlUpdated`. Kept per instrument as well, so that it can be
 * saved one row per instrument (src/store/risk-books.ts) and split between workers.
 *
 * Where several risk workers split the partitions, each judges the daily loss over the
 * instruments it owns; the account-wide figure is the portfolio's (pnl.snapshots).
 */
import type { Paise } from "../money.ts";
import { evolveInPlace as evolvePortfolio, initialPortfolio, markInPlace, positionKey, type PortfolioFill, type PortfolioState, type Position } from "../portfolio/index.ts";
import { istDayEnd } from "./day.ts";
import type { DayEndRow } from "./day-end.ts";
import { evolveInPlace, rollDay } from "./evolve.ts";
import { RATE_WINDOW_MS, strategyPositionKey, type RiskState } from "./state.ts";

/** Where a message sits in its topic: a message at or before the last one applied is a redelivery. */
export interface LogPosition {
  partition: number;
  offset: number;
}

export interface RiskFold {
  /** The portfolio's fold over the fills and ticks this worker consumed. */
  pnl: PortfolioState;
  /** Instrument → its net P&L (realised − fees + unrealised) when the IST day began; absent: 0. */
  day_open: Map<string, Paise>;
  /** Instrument → strategy → signals validated today. */
  orders: Map<string, Record<string, number>>;
  /** Instrument → when its signals were validated in the last second (event time, ms). */
  recent: Map<string, number[]>;
  /** Instrument → the last fill and signal applied, so that a redelivery is not counted twice. */
  applied: Map<string, { fill?: LogPosition; signal?: LogPosition }>;
  /** The first instant of the IST day after the state's day: an event from then on starts a new day. */
  next_day: number;
  /** The latest event time seen (ticks included), ms: the clock a send deadline is judged by. */
  clock: number;
  /** Instruments whose saved row is out of date. */
  dirty: Set<string>;
}

/** One instrument's part of the fold, as saved. */
export interface RiskBookRow {
  token: number;
  /** The IST day `day_open`, `orders_today` and `recent` belong to; null before any event. */
  day: string | null;
  day_open: Paise;
  /** Its positions, one per strategy, as the portfolio's fold keeps them (flat ones too: they carry realised P&L). */
  positions: Position[];
  orders_today: Record<string, number>;
  recent: number[];
  fill: LogPosition | null;
  signal: LogPosition | null;
  /** The fold's event clock when saved. */
  clock: number;
  /** The day's end: its intraday book and markers (src/risk/day-end.ts), kept by the risk stage. */
  day_end?: DayEndRow;
}

/**
 * A fold with nothing in it yet.
 *
 * @example
 * const fold = emptyFold("paper");
 */
export const emptyFold = (broker: "paper" | "zerodha"): RiskFold => ({
  pnl: initialPortfolio({ broker, starting_cash: 0 }),
  day_open: new Map(),
  orders: new Map(),
  recent: new Map(),
  applied: new Map(),
  next_day: -Infinity,
  clock: 0,
  dirty: new Set(),
});

/** realised − fees + unrealised, as `PnlUpdated` takes it. */
const netTotal = (pnl: PortfolioState): Paise => pnl.totals.realised_pnl - pnl.totals.fees + pnl.totals.unrealised_pnl;

/** One instrument's net P&L: Σ its positions' realised − fees + unrealised. */
function instrumentNet(pnl: PortfolioState, token: string): Paise {
  let net = 0;
  for (const key of pnl.by_instrument[token] ?? []) {
    const p = pnl.positions[key]!;
    net += p.realised_pnl - p.fees + p.unrealised_pnl;
  }
  return net;
}

const pnlUpdated = (fold: RiskFold, at: number) =>
  ({ type: "PnlUpdated", realised_pnl: fold.pnl.totals.realised_pnl, unrealised_pnl: fold.pnl.totals.unrealised_pnl, fees: fold.pnl.totals.fees, at }) as const;

/**
 * Moves the fold's clocks to an event at `at`: the event clock forward, and a new IST day when
 * `at` falls in one (its P&L then counts from each instrument's figure now, its counters from 0).
 * Only forward: a late event of an earlier day counts toward the current one.
 */
export function advance(fold: RiskFold, state: RiskState, at: number): RiskState {
  if (at > fold.clock) fold.clock = at;
  if (at < fold.next_day) return state;
  for (const token of Object.keys(fold.pnl.by_instrument)) {
    fold.day_open.set(token, instrumentNet(fold.pnl, token));
    fold.dirty.add(token);
  }
  for (const token of fold.orders.keys()) fold.dirty.add(token);
  fold.orders.clear();
  fold.next_day = istDayEnd(at);
  const rolled = rollDay(state, at);
  // A control event of the new day may have rolled the state already: nothing of the fold was
  // counted since (every fill, tick and signal comes through here first), so the day starts now.
  return rolled !== state ? rolled : { ...state, orders_today: {}, pnl_day_open: state.pnl_total };
}

/** True when the message at `at` is at or before `last`, the last one applied of its kind: a redelivery. */
export const isRedelivery = (last: LogPosition | undefined, at: LogPosition | undefined): boolean =>
  last !== undefined && at !== undefined && last.partition === at.partition && at.offset <= last.offset;

/**
 * A fill (an order.filled payload) at event time `at`: the position, and the P&L by the
 * portfolio's fold. `where` is the fill's place in its topic: a fill at or before the last one
 * applied to its instrument was applied already (redelivered after a crash) and changes nothing.
 *
 * @example
 * state = foldFill(fold, state, e.data, Date.parse(e.ts), { partition: m.partition, offset: m.offset });
 */
export function foldFill(fold: RiskFold, state: RiskState, fill: PortfolioFill, at: number, where?: LogPosition): RiskState {
  const token = String(fill.instrument_token);
  const applied = fold.applied.get(token);
  if (isRedelivery(applied?.fill, where)) return state;
  let s = advance(fold, state, at);
  // The portfolio's fold first: it refuses a malformed fill before anything changed.
  evolvePortfolio(fold.pnl, fill);
  s = evolveInPlace(s, { type: "FillApplied", strategy_id: fill.strategy_id, instrument_token: fill.instrument_token, side: fill.side, quantity: fill.fill_quantity, at });
  s = evolveInPlace(s, pnlUpdated(fold, at));
  if (where) fold.applied.set(token, { ...applied, fill: where });
  fold.dirty.add(token);
  return s;
}

/**
 * A tick at event time `at`: marks the instrument's positions (O(its positions), in place) and,
 * when that moved the P&L, tells the rules (a fall in price may halt). Not saved by itself: the
 * next tick marks again.
 *
 * @example
 * state = foldTick(fold, state, tick.instrument_token, tick.last_price, at);
 */
export function foldTick(fold: RiskFold, state: RiskState, token: number, price: Paise, at: number): RiskState {
  const s = advance(fold, state, at);
  if (!Object.hasOwn(fold.pnl.by_instrument, String(token))) return s;
  const before = fold.pnl.totals;
  markInPlace(fold.pnl, { instrument_token: token, last_price: price });
  return fold.pnl.totals === before ? s : evolveInPlace(s, pnlUpdated(fold, at));
}

/**
 * A signal risk validated at event time `at`: it counts toward its strategy's day and the
 * broker's throttle. A redelivered one (at or before the last signal applied) is not counted again.
 *
 * @example
 * state = foldValidated(fold, state, signal.strategy_id, signal.instrument_token, at, where);
 */
export function foldValidated(fold: RiskFold, state: RiskState, strategyId: string, instrumentToken: number, at: number, where?: LogPosition): RiskState {
  const token = String(instrumentToken);
  const applied = fold.applied.get(token);
  if (isRedelivery(applied?.signal, where)) return state;
  const s = evolveInPlace(advance(fold, state, at), { type: "SignalValidated", strategy_id: strategyId, instrument_token: instrumentToken, at });
  const counts = fold.orders.get(token) ?? {};
  counts[strategyId] = (counts[strategyId] ?? 0) + 1;
  fold.orders.set(token, counts);
  fold.recent.set(token, [...(fold.recent.get(token) ?? []).filter((t) => t > at - RATE_WINDOW_MS), at]);
  if (where) fold.applied.set(token, { ...applied, signal: where });
  fold.dirty.add(token);
  return s;
}

/**
 * One instrument's row, as it stands.
 *
 * @example
 * const rows = [...fold.dirty].map((t) => rowOf(fold, state, t));
 */
export function rowOf(fold: RiskFold, state: RiskState, token: string): RiskBookRow {
  const applied = fold.applied.get(token);
  return {
    token: Number(token),
    day: state.day,
    day_open: fold.day_open.get(token) ?? 0,
    positions: (fold.pnl.by_instrument[token] ?? []).map((k) => fold.pnl.positions[k]!),
    orders_today: fold.orders.get(token) ?? {},
    recent: (fold.recent.get(token) ?? []).filter((t) => t > fold.clock - RATE_WINDOW_MS),
    fill: applied?.fill ?? null,
    signal: applied?.signal ?? null,
    clock: fold.clock,
  };
}

/**
 * The fold and the rules' state from saved rows (the instruments a worker owns), over `state`,
 * whose limits and trading state are kept. Rows of an earlier day than the latest keep their
 * positions; their day starts from their figure now, with no orders counted.
 *
 * @example
 * ({ fold, state } = restore("paper", rows, state));
 */
export function restore(broker: "paper" | "zerodha", rows: readonly RiskBookRow[], base: RiskState): { fold: RiskFold; state: RiskState } {
  const fold = emptyFold(broker);
  const pnl = fold.pnl;
  const positions: Record<string, number> = {};
  const strategyPositions: Record<string, number> = {};
  const ordersToday: Record<string, number> = {};
  const recent: number[] = [];
  const day = rows.reduce<string | null>((d, r) => (r.day !== null && (d === null || r.day > d) ? r.day : d), null);
  let dayOpen = 0;
  for (const r of rows) {
    const token = String(r.token);
    for (const p of r.positions) {
      const key = positionKey(p.strategy_id, p.instrument_token);
      pnl.positions[key] = p;
      (pnl.by_instrument[token] ??= []).push(key);
      pnl.marks[token] = p.last_price;
      pnl.totals = {
        realised_pnl: pnl.totals.realised_pnl + p.realised_pnl,
        unrealised_pnl: pnl.totals.unrealised_pnl + p.unrealised_pnl,
        fees: pnl.totals.fees + p.fees,
        open_positions: pnl.totals.open_positions + (p.quantity !== 0 ? 1 : 0),
      };
      if (p.quantity !== 0) {
        positions[token] = (positions[token] ?? 0) + p.quantity;
        strategyPositions[strategyPositionKey(p.strategy_id, p.instrument_token)] = p.quantity;
      }
    }
    const open = r.day !== null && r.day === day ? r.day_open : instrumentNet(pnl, token);
    if (open !== 0) fold.day_open.set(token, open);
    dayOpen += open;
    if (r.day !== null && r.day === day && Object.keys(r.orders_today).length > 0) {
      fold.orders.set(token, { ...r.orders_today });
      for (const [strategy, n] of Object.entries(r.orders_today)) ordersToday[strategy] = (ordersToday[strategy] ?? 0) + n;
    }
    if (r.recent.length > 0) {
      fold.recent.set(token, [...r.recent]);
      recent.push(...r.recent);
    }
    if (r.fill || r.signal) fold.applied.set(token, { ...(r.fill ? { fill: r.fill } : {}), ...(r.signal ? { signal: r.signal } : {}) });
    if (r.clock > fold.clock) fold.clock = r.clock;
  }
  for (const token of Object.keys(positions)) if (positions[token] === 0) delete positions[token];
  if (day !== null) fold.next_day = istDayEnd(Date.parse(`${day}T12:00:00.000+05:30`));
  const state: RiskState = {
    ...base,
    day,
    orders_today: ordersToday,
    recent_orders: recent.sort((a, b) => a - b),
    positions,
    strategy_positions: strategyPositions,
    pnl_total: netTotal(pnl),
    pnl_day_open: dayOpen,
  };
  return { fold, state };
}
