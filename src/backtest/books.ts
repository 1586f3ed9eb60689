/**
 * The accounts a backtest keeps: one per strategy (its own portfolio, src/portfolio's pure fold,
 * as if it traded alone) and the counts and equity curve of each, and of the whole account.
 */
import type { PayloadOf } from "../events/payloads.ts";
import { assertSafe, mul } from "../intmath.ts";
import { evolveInPlace, initialPortfolio, positionKey, type PortfolioState } from "../portfolio/index.ts";

/** Counts and the equity's drawdown and daily closes, of a strategy or of the whole account. */
export class Tally {
  ticks = 0;
  signals = 0;
  orders = 0;
  fills = 0;
  turnover = 0;
  rejections: Record<string, number> = {};
  deadLettered = 0;
  peak: number;
  maxDrawdown = 0;
  maxDrawdownFraction = 0;
  /** The equity at the last event of each IST day, in day order. */
  dayClose: Array<{ day: string; equity: number }> = [];
  wins = 0;
  trips = 0;

  constructor(readonly startingCash: number) {
    this.peak = startingCash;
  }

  /** After a price or a fill: the drawdown from the peak, and the day's close so far. */
  observe(day: string, equity: number): void {
    if (equity > this.peak) this.peak = equity;
    else if (this.peak - equity > this.maxDrawdown) {
      this.maxDrawdown = this.peak - equity;
      this.maxDrawdownFraction = this.peak > 0 ? this.maxDrawdown / this.peak : 0;
    }
    const last = this.dayClose[this.dayClose.length - 1];
    if (last?.day === day) last.equity = equity;
    else this.dayClose.push({ day, equity });
  }
}

/** A strategy's account: its own portfolio (src/portfolio's fold), as if it traded alone. */
export class Book extends Tally {
  readonly state: PortfolioState;
  /** Per position: realised and fees when its current round trip opened. */
  private readonly open = new Map<string, { realised: number; fees: number }>();

  constructor(startingCash: number) {
    super(startingCash);
    this.state = initialPortfolio({ broker: "paper", starting_cash: startingCash });
  }

  /** Realised + unrealised − fees. */
  get pnl(): number {
    const t = this.state.totals;
    return t.realised_pnl + t.unrealised_pnl - t.fees;
  }

  /** Cash + Σ quantity × mark, which is starting cash + realised + unrealised − fees. */
  get equity(): number {
    return assertSafe(this.startingCash + this.pnl, "equity");
  }

  /**
   * A fill, and the round trip it may close: a position from flat back to flat, or through it
   * (a fill that flips the position closes one trip, with the whole fill's fees, and opens the
   * next). A trip wins when its realised P&L less its fees is above zero.
   */
  fill(f: PayloadOf<"order.filled">): void {
    const key = positionKey(f.strategy_id, f.instrument_token);
    const before = this.state.positions[key]?.quantity ?? 0;
    evolveInPlace(this.state, f);
    const position = this.state.positions[key]!;
    this.fills++;
    this.turnover = assertSafe(this.turnover + mul(f.fill_quantity, f.fill_price, "fill value"), "turnover");
    if (before === 0) this.open.set(key, { realised: position.realised_pnl, fees: position.fees - f.fees });
    else if (position.quantity === 0 || Math.sign(position.quantity) !== Math.sign(before)) {
      const opened = this.open.get(key)!;
      const pnl = position.realised_pnl - opened.realised - (position.fees - opened.fees);
      this.trips++;
      if (pnl > 0) this.wins++;
      if (position.quantity !== 0) this.open.set(key, { realised: position.realised_pnl, fees: position.fees });
      else this.open.delete(key);
    }
  }
}

/** The annualised Sharpe ratio of daily equity returns (√252, no risk-free rate): null below two days or with no variation. */
export function sharpe(startingCash: number, closes: readonly number[]): number | null {
  if (closes.length < 2) return null;
  const returns: number[] = [];
  let prev = startingCash;
  for (const close of closes) {
    returns.push(prev > 0 ? close / prev - 1 : 0);
    prev = close;
  }
  const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
  const variance = returns.reduce((a, b) => a + (b - mean) ** 2, 0) / (returns.length - 1);
  if (!(variance > 0)) return null;
  return round6((mean / Math.sqrt(variance)) * Math.sqrt(252));
}

export const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;
