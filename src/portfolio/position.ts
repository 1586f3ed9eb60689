/**
 * One position: a (strategy, instrument) pair, and how a fill or a new mark changes it.
 *
 * The cost basis is an integer total, signed: what was paid for a long's open quantity (> 0), or
 * minus what was received for a short's (< 0). Reducing a position takes the closed part's share
 * of the basis, `basis × closed / |quantity|` rounded half away from zero; the rounding remainder
 * stays in the open basis, and closing the last unit takes the whole remaining basis. So once a
 * position is flat, its realised P&L is exactly Σ sell proceeds − Σ buy costs, to the paisa, and
 * at any mark: realised + unrealised = Σ proceeds − Σ costs + quantity × mark.
 */
import type { Paise } from "../money.ts";
import { assertSafe, mul, mulDivRound } from "../intmath.ts";
import type { Side } from "../orders/vocabulary.ts";

export interface Position {
  strategy_id: string;
  instrument_token: number;
  /** Net quantity: > 0 long, < 0 short, 0 flat. */
  quantity: number;
  /** Signed cost of the open quantity, paise (see the module comment). 0 when flat. */
  cost_basis: Paise;
  /** |cost_basis| / |quantity| rounded half up, for display only; 0 when flat. */
  average_price: Paise;
  /** Realised P&L, gross: before fees (fees are in `fees`; net = realised_pnl − fees). */
  realised_pnl: Paise;
  /** Charges paid on this position's fills. */
  fees: Paise;
  /** The mark: the instrument's last price. */
  last_price: Paise;
  /** quantity × last_price − cost_basis; 0 when flat. */
  unrealised_pnl: Paise;
  buy_quantity: number;
  /** Σ quantity × price of buys, paise. */
  buy_value: Paise;
  sell_quantity: number;
  /** Σ quantity × price of sells, paise. */
  sell_value: Paise;
}

/** The fields of an order.filled payload the portfolio uses. */
export interface PortfolioFill {
  strategy_id: string;
  instrument_token: number;
  side: Side;
  fill_quantity: number;
  fill_price: Paise;
  fees: Paise;
}

/**
 * A flat position, marked at `mark`.
 *
 * @example
 * flatPosition("momentum_fast", 738561, 129_045).quantity; // 0
 */
export const flatPosition = (strategy_id: string, instrument_token: number, mark: Paise): Position => ({
  strategy_id,
  instrument_token,
  quantity: 0,
  cost_basis: 0,
  average_price: 0,
  realised_pnl: 0,
  fees: 0,
  last_price: mark,
  unrealised_pnl: 0,
  buy_quantity: 0,
  buy_value: 0,
  sell_quantity: 0,
  sell_value: 0,
});

const averageOf = (basis: Paise, quantity: number): Paise =>
  quantity === 0 ? 0 : mulDivRound(Math.abs(basis), 1, Math.abs(quantity));

const unrealisedOf = (quantity: number, mark: Paise, basis: Paise): Paise =>
  assertSafe(mul(quantity, mark, "position value") - basis, "unrealised P&L");

/**
 * The position after a fill. Handles opening, adding, reducing, closing and flipping (a fill
 * larger than the open quantity closes it and opens the rest the other way at the fill price).
 *
 * @example
 * applyFill(flatPosition("s1", 738561, 100_00), { side: "BUY", fill_quantity: 3, fill_price: 100_00, … }).cost_basis; // 300_00
 */
export function applyFill(p: Position, f: PortfolioFill): Position {
  const signed = f.side === "BUY" ? f.fill_quantity : -f.fill_quantity;
  const value = mul(f.fill_quantity, f.fill_price, "fill value");
  let quantity = p.quantity;
  let basis = p.cost_basis;
  let realised = p.realised_pnl;

  // The part of the fill that closes open quantity (0 when the fill opens or adds).
  const closing = quantity !== 0 && Math.sign(quantity) !== Math.sign(signed) ? Math.min(f.fill_quantity, Math.abs(quantity)) : 0;
  if (closing > 0) {
    const share = closing === Math.abs(quantity) ? basis : mulDivRound(basis, closing, Math.abs(quantity));
    const closedSigned = f.side === "BUY" ? closing : -closing;
    // Closing a long sells `closing` units: proceeds − their cost. Closing a short buys them back:
    // what they were sold for (−share) − what they cost now. One formula covers both.
    realised = assertSafe(realised - mul(closedSigned, f.fill_price, "closing value") - share, "realised P&L");
    basis -= share;
    quantity += closedSigned;
  }
  const opening = f.fill_quantity - closing;
  if (opening > 0) {
    const openSigned = f.side === "BUY" ? opening : -opening;
    basis = assertSafe(basis + mul(openSigned, f.fill_price, "opening value"), "cost basis");
    quantity += openSigned;
  }

  const bought = f.side === "BUY";
  return {
    ...p,
    quantity,
    cost_basis: basis,
    average_price: averageOf(basis, quantity),
    realised_pnl: realised,
    fees: assertSafe(p.fees + f.fees, "fees"),
    unrealised_pnl: unrealisedOf(quantity, p.last_price, basis),
    buy_quantity: bought ? p.buy_quantity + f.fill_quantity : p.buy_quantity,
    buy_value: bought ? assertSafe(p.buy_value + value, "buy value") : p.buy_value,
    sell_quantity: bought ? p.sell_quantity : p.sell_quantity + f.fill_quantity,
    sell_value: bought ? p.sell_value : assertSafe(p.sell_value + value, "sell value"),
  };
}

/**
 * The position marked at a new last price.
 *
 * @example
 * markPosition(long3At100, 110_00).unrealised_pnl; // 30_00
 */
export const markPosition = (p: Position, mark: Paise): Position =>
  p.last_price === mark ? p : { ...p, last_price: mark, unrealised_pnl: unrealisedOf(p.quantity, mark, p.cost_basis) };
