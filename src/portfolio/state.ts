/**
 * A broker's portfolio as plain JSON: cash, positions per (strategy, instrument), the marks, and
 * running totals (kept incrementally, so a snapshot is O(1)).
 */
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import type { Paise } from "../money.ts";
import type { Position } from "./position.ts";

export const portfolioConfigSchema = z.object({
  broker: z.enum(["paper", "zerodha"]).default("paper"),
  /** ₹10,00,000 by default. */
  starting_cash: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(100_000_000),
});

export type PortfolioConfig = z.output<typeof portfolioConfigSchema>;
export type PortfolioConfigInput = z.input<typeof portfolioConfigSchema>;

export interface PortfolioTotals {
  /** Σ positions' realised P&L, gross of fees. */
  realised_pnl: Paise;
  /** Σ positions' unrealised P&L at their marks. */
  unrealised_pnl: Paise;
  /** Σ charges. Net P&L = realised_pnl + unrealised_pnl − fees. */
  fees: Paise;
  /** Positions with a non-zero quantity. */
  open_positions: number;
}

export interface PortfolioState {
  broker: "paper" | "zerodha";
  starting_cash: Paise;
  /** starting_cash − Σ buy values + Σ sell values − Σ fees. */
  cash: Paise;
  /** By {@link positionKey}. Flat positions stay: they carry realised P&L and fees. */
  positions: Record<string, Position>;
  /** Instrument token → keys of its positions, so a mark touches only those. */
  by_instrument: Record<string, string[]>;
  /** Instrument token → last price, paise. */
  marks: Record<string, Paise>;
  totals: PortfolioTotals;
  /** Fills applied so far. */
  fills: number;
}

/**
 * The key of a position. The token is digits only, so the last ":" always separates the two
 * parts, whatever the strategy id holds.
 *
 * @example
 * positionKey("momentum_fast", 738561); // "momentum_fast:738561"
 */
export const positionKey = (strategyId: string, token: number): string => `${strategyId}:${token}`;

/**
 * An empty portfolio: only cash. Settings are validated (ConfigError lists every problem).
 *
 * @example
 * const state = initialPortfolio({ broker: "paper", starting_cash: 100_000_000 });
 */
export function initialPortfolio(input: PortfolioConfigInput | unknown = {}): PortfolioState {
  const parsed = portfolioConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ path: ["portfolio", ...i.path.map(String)].join("."), message: i.message })));
  }
  const { broker, starting_cash } = parsed.data;
  return {
    broker,
    starting_cash,
    cash: starting_cash,
    positions: {},
    by_instrument: {},
    marks: {},
    totals: { realised_pnl: 0, unrealised_pnl: 0, fees: 0, open_positions: 0 },
    fills: 0,
  };
}
