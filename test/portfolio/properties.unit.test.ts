/**
 * Property tests: long random sequences of fills (seeded, so a failure names its seed) and the
 * exact invariants the portfolio must keep, to the paisa.
 */
import { describe, expect, test } from "bun:test";
import { evolve, evolveInPlace, initialPortfolio, mark, markInPlace, rebuild } from "../../src/portfolio/index.ts";
import type { PortfolioFill, PortfolioState, Position } from "../../src/portfolio/index.ts";
import { prng, type Prng } from "./prng.ts";

const TOKENS = [738561, 2953217, 408065, 341249];
const STRATEGIES = ["momentum_fast", "mean_reversion_bank", "s:with:colons"];
const START = 100_000_000;

/** Random fills on the 5-paise grid: small and large quantities (so flips happen), random-walk prices. */
function randomFills(r: Prng, count: number, prices: Record<number, number>): PortfolioFill[] {
  const fills: PortfolioFill[] = [];
  for (let i = 0; i < count; i++) {
    const token = r.pick(TOKENS);
    prices[token] = Math.max(5, (prices[token] as number) + 5 * r.int(-30, 30));
    fills.push({
      strategy_id: r.pick(STRATEGIES),
      instrument_token: token,
      side: r.int(0, 1) ? "BUY" : "SELL",
      fill_quantity: r.int(0, 9) === 0 ? r.int(100, 5_000) : r.int(1, 60),
      fill_price: prices[token] as number,
      fees: r.int(0, 5_000),
    });
  }
  return fills;
}

/** What the fills say, from first principles: Σ buys, Σ sells, net quantity per position. */
function ledger(fills: readonly PortfolioFill[]) {
  const per = new Map<string, { buys: number; sells: number; qty: number }>();
  let cash = START;
  for (const f of fills) {
    const key = `${f.strategy_id}:${f.instrument_token}`;
    const acc = per.get(key) ?? { buys: 0, sells: 0, qty: 0 };
    const value = f.fill_quantity * f.fill_price;
    if (f.side === "BUY") {
      acc.buys += value;
      acc.qty += f.fill_quantity;
      cash -= value;
    } else {
      acc.sells += value;
      acc.qty -= f.fill_quantity;
      cash += value;
    }
    cash -= f.fees;
    per.set(key, acc);
  }
  return { per, cash };
}

function allSafe(state: PortfolioState): void {
  const nums: number[] = [state.cash, ...Object.values(state.totals), ...Object.values(state.marks)];
  for (const p of Object.values(state.positions)) for (const v of Object.values(p)) if (typeof v === "number") nums.push(v);
  for (const n of nums) if (!Number.isSafeInteger(n)) throw new Error(`not a safe integer: ${n}`);
}

function totalsAgree(state: PortfolioState): void {
  const ps = Object.values(state.positions);
  expect(state.totals).toEqual({
    realised_pnl: ps.reduce((s, p) => s + p.realised_pnl, 0),
    unrealised_pnl: ps.reduce((s, p) => s + p.unrealised_pnl, 0),
    fees: ps.reduce((s, p) => s + p.fees, 0),
    open_positions: ps.filter((p) => p.quantity !== 0).length,
  });
}

const SEEDS = [1, 7, 42, 2024, 99_991];

describe("portfolio invariants over random fills", () => {
  for (const seed of SEEDS) {
    test(`seed ${seed}: cash, P&L identity at any mark, totals, flat ⇒ realised = proceeds − costs, replay`, () => {
      const r = prng(seed);
      const prices: Record<number, number> = { 738561: 1_290_45, 2953217: 4_120_05, 408065: 1_885_20, 341249: 1_743_30 };
      const fills = randomFills(r, 4_000, prices);

      let state = initialPortfolio();
      let feesPaid = 0;
      for (const [i, f] of fills.entries()) {
        state = evolve(state, f);
        feesPaid += f.fees;
        if (i % 97 === 0) {
          allSafe(state);
          totalsAgree(state);
        }
      }
      const { per, cash } = ledger(fills);
      // cash = start − Σ buy value + Σ sell value − Σ fees, exactly
      expect(state.cash).toBe(cash);
      expect(state.totals.fees).toBe(feesPaid);

      // realised + unrealised = Σ proceeds − Σ costs + net × mark (gross), at arbitrary marks
      for (const m of [5, 1_000_00, 1_234_55, 9_999_95]) {
        let marked = state;
        for (const t of TOKENS) marked = mark(marked, { instrument_token: t, last_price: m });
        allSafe(marked);
        totalsAgree(marked);
        for (const [key, acc] of per) {
          const p = marked.positions[key] as Position;
          expect(p.quantity).toBe(acc.qty);
          expect(p.realised_pnl + p.unrealised_pnl).toBe(acc.sells - acc.buys + acc.qty * m);
          expect(p.buy_value - p.sell_value).toBe(acc.buys - acc.sells);
        }
      }

      // Close everything at random prices: unrealised 0, realised = Σ proceeds − Σ costs exactly.
      const closing: PortfolioFill[] = [];
      for (const p of Object.values(state.positions)) {
        if (p.quantity === 0) continue;
        closing.push({
          strategy_id: p.strategy_id,
          instrument_token: p.instrument_token,
          side: p.quantity > 0 ? "SELL" : "BUY",
          fill_quantity: Math.abs(p.quantity),
          fill_price: 5 * r.int(1, 400_000),
          fees: r.int(0, 5_000),
        });
      }
      let flat = closing.reduce(evolve, state);
      for (const t of TOKENS) flat = mark(flat, { instrument_token: t, last_price: 5 * r.int(1, 400_000) });
      const all = [...fills, ...closing];
      const after = ledger(all);
      expect(flat.totals.unrealised_pnl).toBe(0);
      expect(flat.totals.open_positions).toBe(0);
      let gross = 0;
      for (const [key, acc] of after.per) {
        const p = flat.positions[key] as Position;
        expect(p).toMatchObject({ quantity: 0, cost_basis: 0, average_price: 0, unrealised_pnl: 0 });
        expect(p.realised_pnl).toBe(acc.sells - acc.buys);
        gross += acc.sells - acc.buys;
      }
      expect(flat.totals.realised_pnl).toBe(gross);
      expect(flat.cash).toBe(START + gross - flat.totals.fees);

      // Replaying the ledger rebuilds the same state, deep-equal and byte-equal as JSON.
      const replayed = rebuild(all);
      const live = all.reduce(evolve, initialPortfolio());
      expect(replayed).toEqual(live);
      expect(JSON.stringify(replayed)).toBe(JSON.stringify(live));
    });
  }

  test("live state with marks interleaved = rebuild from fills, then re-marked with the latest prices", () => {
    const r = prng(314);
    const prices: Record<number, number> = { 738561: 1_290_45, 2953217: 4_120_05, 408065: 1_885_20, 341249: 1_743_30 };
    let live = initialPortfolio();
    const fills: PortfolioFill[] = [];
    for (let i = 0; i < 3_000; i++) {
      if (r.int(0, 2) === 0) {
        const t = r.pick(TOKENS);
        prices[t] = Math.max(5, (prices[t] as number) + 5 * r.int(-30, 30));
        live = mark(live, { instrument_token: t, last_price: prices[t] as number });
      } else {
        const [f] = randomFills(r, 1, prices) as [PortfolioFill];
        fills.push(f);
        live = evolve(live, f);
      }
    }
    let restored = rebuild(fills);
    for (const t of TOKENS) {
      live = mark(live, { instrument_token: t, last_price: prices[t] as number });
      restored = mark(restored, { instrument_token: t, last_price: prices[t] as number });
    }
    expect(restored).toEqual(live);
  });

  test("huge positions stay exact (BigInt products) or fail loudly, never round", () => {
    // basis = 4 × 1_000_000_000_000_001 + 5 × 999_999_999_999_998 = 8_999_999_999_999_994 (< 2^53)
    // selling 7 of 9 takes 8_999_999_999_999_994 × 7 / 9 = 6_999_999_999_999_995.33 → …995;
    // in floating point the product 6.3e16 loses bits and the share comes out …996.
    const x = (side: "BUY" | "SELL", fill_quantity: number, fill_price: number): PortfolioFill => ({ strategy_id: "x", instrument_token: 1, side, fill_quantity, fill_price, fees: 0 });
    let s = initialPortfolio({ starting_cash: 0 });
    s = [x("BUY", 4, 1_000_000_000_000_001), x("BUY", 5, 999_999_999_999_998), x("SELL", 7, 1_000_000_000_000_000)].reduce(evolve, s);
    const p = s.positions["x:1"] as Position;
    expect(p.realised_pnl).toBe(5); // 7_000_000_000_000_000 − 6_999_999_999_999_995
    expect(p.cost_basis).toBe(1_999_999_999_999_999);
    // Past 2^53 nothing is rounded: it throws.
    expect(() => evolve(s, x("BUY", 100, 1_000_000_000_000_000))).toThrow(/not a safe integer/);
  });
});

describe("in place (the portfolio stage's mode)", () => {
  test("the same states as the pure fold, fills and marks interleaved", () => {
    for (const seed of [11, 12]) {
      const r = prng(seed);
      const prices: Record<number, number> = { 738561: 1_290_45, 2953217: 4_120_05, 408065: 1_885_20, 341249: 1_743_30 };
      let pure = initialPortfolio({ starting_cash: START });
      let owned = initialPortfolio({ starting_cash: START });
      for (let i = 0; i < 3_000; i++) {
        const before = i % 100 === 0 ? JSON.stringify(pure) : "";
        if (r.int(0, 2) === 0) {
          const [fill] = randomFills(r, 1, prices);
          pure = evolve(pure, fill!);
          owned = evolveInPlace(owned, fill!);
        } else {
          const token = r.pick(TOKENS);
          prices[token] = Math.max(5, (prices[token] as number) + 5 * r.int(-30, 30));
          const tick = { instrument_token: token, last_price: prices[token] as number };
          const next = mark(pure, tick);
          if (before) expect(JSON.stringify(pure)).toBe(before); // the pure fold never changes its input
          pure = next;
          owned = markInPlace(owned, tick);
        }
        if (i % 100 === 0) expect(owned).toEqual(pure);
      }
      expect(owned).toEqual(pure);
    }
  });
});
