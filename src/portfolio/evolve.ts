/**
 * The portfolio's fold: `evolve` applies one fill, `mark` one price. Both are pure, so replaying
 * the ledger's fills in order rebuilds exactly the state that applying them live produced.
 *
 * `evolveInPlace` and `markInPlace` give the same results by updating the state passed in: for
 * a caller that owns the state and keeps only the one returned (the portfolio stage), where
 * copying `positions` and `marks` whole for every tick would make a tick cost O(instruments held).
 */
import type { Tick } from "../events/payloads.ts";
import type { Paise } from "../money.ts";
import { assertSafe, mul } from "../intmath.ts";
import { applyFill, flatPosition, markPosition, type PortfolioFill, type Position } from "./position.ts";
import { initialPortfolio, positionKey, type PortfolioConfigInput, type PortfolioState, type PortfolioTotals } from "./state.ts";

const own = <T>(record: Record<string, T>, key: string): T | undefined => (Object.hasOwn(record, key) ? record[key] : undefined);
const isOpen = (p: Position | undefined) => (p ? p.quantity !== 0 : false);

/** The totals after one position changed from `before` to `after`. */
function retotal(t: PortfolioTotals, before: Position | undefined, after: Position, addedFees: Paise): PortfolioTotals {
  return {
    realised_pnl: assertSafe(t.realised_pnl + after.realised_pnl - (before?.realised_pnl ?? 0), "total realised P&L"),
    unrealised_pnl: assertSafe(t.unrealised_pnl + after.unrealised_pnl - (before?.unrealised_pnl ?? 0), "total unrealised P&L"),
    fees: assertSafe(t.fees + addedFees, "total fees"),
    open_positions: t.open_positions + Number(isOpen(after)) - Number(isOpen(before)),
  };
}

/**
 * Applies one fill (an order.filled payload): the position, cash and totals. Fees come out of
 * cash and are tracked apart from realised P&L, which is gross. The first fill on an instrument
 * with no mark yet marks it at the fill price, so a position is never shown without a price.
 *
 * @example
 * let state = initialPortfolio();
 * state = evolve(state, fill.data); // fill: an order.filled event
 */
export function evolve(state: PortfolioState, fill: PortfolioFill): PortfolioState {
  return applyOne(state, fill, false);
}

/** {@link evolve}, updating `state` itself (and returning it). */
export function evolveInPlace(state: PortfolioState, fill: PortfolioFill): PortfolioState {
  return applyOne(state, fill, true);
}

function applyOne(state: PortfolioState, fill: PortfolioFill, inPlace: boolean): PortfolioState {
  if (!Number.isSafeInteger(fill.fill_quantity) || fill.fill_quantity <= 0) throw new RangeError(`fill quantity must be a positive integer, got ${fill.fill_quantity}`);
  if (!Number.isSafeInteger(fill.fill_price) || fill.fill_price <= 0) throw new RangeError(`fill price must be positive integer paise, got ${fill.fill_price}`);
  if (!Number.isSafeInteger(fill.fees) || fill.fees < 0) throw new RangeError(`fees must be non-negative integer paise, got ${fill.fees}`);

  const token = String(fill.instrument_token);
  const key = positionKey(fill.strategy_id, fill.instrument_token);
  const markedBefore = own(state.marks, token);
  const mark = markedBefore ?? fill.fill_price;
  const before = own(state.positions, key);
  const after = applyFill(before ?? flatPosition(fill.strategy_id, fill.instrument_token, mark), fill);

  const value = mul(fill.fill_quantity, fill.fill_price, "fill value");
  const flow = fill.side === "BUY" ? -value : value;
  const siblings = own(state.by_instrument, token) ?? [];
  if (inPlace) {
    state.cash = assertSafe(state.cash + flow - fill.fees, "cash");
    state.positions[key] = after;
    if (!before) state.by_instrument[token] = [...siblings, key];
    if (markedBefore === undefined) state.marks[token] = mark;
    state.totals = retotal(state.totals, before, after, fill.fees);
    state.fills += 1;
    return state;
  }
  return {
    ...state,
    cash: assertSafe(state.cash + flow - fill.fees, "cash"),
    positions: { ...state.positions, [key]: after },
    by_instrument: before ? state.by_instrument : { ...state.by_instrument, [token]: [...siblings, key] },
    marks: markedBefore === undefined ? { ...state.marks, [token]: mark } : state.marks,
    totals: retotal(state.totals, before, after, fill.fees),
    fills: state.fills + 1,
  };
}

/**
 * Marks every position in the tick's instrument at its last price. Touches only that
 * instrument's positions.
 *
 * @example
 * state = mark(state, tick); // tick: a market.tick payload
 */
export function mark(state: PortfolioState, tick: Pick<Tick, "instrument_token" | "last_price">): PortfolioState {
  return markOne(state, tick, false);
}

/** {@link mark}, updating `state` itself (and returning it). */
export function markInPlace(state: PortfolioState, tick: Pick<Tick, "instrument_token" | "last_price">): PortfolioState {
  return markOne(state, tick, true);
}

function markOne(state: PortfolioState, tick: Pick<Tick, "instrument_token" | "last_price">, inPlace: boolean): PortfolioState {
  const token = String(tick.instrument_token);
  const price = tick.last_price;
  if (!Number.isSafeInteger(price) || price <= 0) throw new RangeError(`mark must be positive integer paise, got ${price}`);
  if (own(state.marks, token) === price) return state;
  let positions = state.positions;
  let totals = state.totals;
  const keys = own(state.by_instrument, token) ?? [];
  if (keys.length > 0 && !inPlace) positions = { ...positions };
  for (const key of keys) {
    const before = own(state.positions, key);
    if (!before) throw new Error(`portfolio state is corrupt: ${key} is indexed but has no position`);
    const after = markPosition(before, price);
    positions[key] = after;
    totals = retotal(totals, before, after, 0);
  }
  if (inPlace) {
    state.marks[token] = price;
    state.totals = totals;
    return state;
  }
  return { ...state, positions, marks: { ...state.marks, [token]: price }, totals };
}

/**
 * The state after applying `fills` in order to a fresh portfolio: how a worker rebuilds from
 * the ledger. Equal (deep) to applying them one by one.
 *
 * @example
 * const state = rebuild(ledgerFills, { broker: "paper" });
 */
export function rebuild(fills: Iterable<PortfolioFill>, config: PortfolioConfigInput = {}): PortfolioState {
  let state = initialPortfolio(config);
  for (const fill of fills) state = evolve(state, fill);
  return state;
}
