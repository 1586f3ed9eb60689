/**
 * Positions as the desk shows them: one row per instrument (test id
 * position-<broker>-<instrument_token>), the strategies' holdings summed in paise.
 */
import { sumRupees, toPaise, toRupees } from "./money.ts";
import type { Position } from "./types.ts";

export interface InstrumentRow {
  token: number;
  quantity: number;
  /** Quantity-weighted, when every strategy holding it holds the same side; else undefined. */
  average?: string;
  last?: string;
  pnl: string;
  holders: Position[];
}

/** Positions per instrument, summed over strategies (in paise). */
export function byInstrument(positions: readonly Position[]): InstrumentRow[] {
  const rows = new Map<number, InstrumentRow>();
  for (const p of positions) {
    const row = rows.get(p.instrument_token) ?? { token: p.instrument_token, quantity: 0, pnl: "0.00", holders: [] };
    row.quantity += p.quantity;
    row.pnl = sumRupees(row.pnl, p.realised_pnl, p.unrealised_pnl);
    row.last = p.last_price ?? row.last;
    row.holders.push(p);
    rows.set(p.instrument_token, row);
  }
  for (const row of rows.values()) {
    const open = row.holders.filter((p) => p.quantity !== 0);
    const sameSide = open.length > 0 && open.every((p) => Math.sign(p.quantity) === Math.sign(open[0]!.quantity));
    if (sameSide) {
      const units = open.reduce((n, p) => n + Math.abs(p.quantity), 0);
      const cost = open.reduce((n, p) => n + Math.abs(p.quantity) * toPaise(p.average_price), 0);
      row.average = toRupees(Math.round(cost / units));
    }
  }
  // Open positions first, then by instrument token.
  return [...rows.values()].sort((a, b) => Number(b.quantity !== 0) - Number(a.quantity !== 0) || a.token - b.token);
}
