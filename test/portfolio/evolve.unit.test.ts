import { describe, expect, test } from "bun:test";
import { PAYLOADS } from "../../src/events/payloads.ts";
import { evolve, initialPortfolio, mark, positionKey, positionsOf, rebuild, snapshot } from "../../src/portfolio/index.ts";
import type { PortfolioFill, PortfolioState, Position } from "../../src/portfolio/index.ts";

const RELIANCE = 738561;
const TCS = 2953217;
const START = 100_000_000;

const buy = (quantity: number, price: number, fees = 0, strategy_id = "s1", instrument_token = RELIANCE): PortfolioFill => ({
  strategy_id,
  instrument_token,
  side: "BUY",
  fill_quantity: quantity,
  fill_price: price,
  fees,
});
const sell = (quantity: number, price: number, fees = 0, strategy_id = "s1", instrument_token = RELIANCE): PortfolioFill => ({
  ...buy(quantity, price, fees, strategy_id, instrument_token),
  side: "SELL",
});

/** Given these fills, when these, then the position of (s1, RELIANCE) and the state. */
const given = (...fills: PortfolioFill[]) => ({
  when: (...more: PortfolioFill[]) => {
    const state = [...fills, ...more].reduce(evolve, initialPortfolio());
    const position = (strategy = "s1", token = RELIANCE) => state.positions[positionKey(strategy, token)] as Position;
    return { state, position };
  },
});

describe("opening, adding, reducing, closing", () => {
  test("a buy opens a long at cost; fees come out of cash, not out of realised P&L", () => {
    const { state, position } = given().when(buy(10, 100_00, 50));
    expect(position()).toMatchObject({ quantity: 10, cost_basis: 1_000_00, average_price: 100_00, realised_pnl: 0, fees: 50, last_price: 100_00, unrealised_pnl: 0 });
    expect(state.cash).toBe(START - 1_000_00 - 50);
    expect(state.totals).toEqual({ realised_pnl: 0, unrealised_pnl: 0, fees: 50, open_positions: 1 });
  });

  test("adding keeps an integer basis; the average is for display, rounded half up", () => {
    // basis 1_000_00 + 5 × 101_00 = 1_505_00; average 150_500 / 15 = 10_033.33 → 10_033
    const { position } = given(buy(10, 100_00)).when(buy(5, 101_00));
    expect(position()).toMatchObject({ quantity: 15, cost_basis: 1_505_00, average_price: 10_033 });
  });

  test("reducing realises against the proportional basis; the remainder stays in the open basis", () => {
    // share = 150_500 × 4 / 15 = 40_133.33 → 40_133; realised = 4 × 102_00 − 40_133 = 667
    const { position } = given(buy(10, 100_00), buy(5, 101_00)).when(sell(4, 102_00));
    expect(position()).toMatchObject({ quantity: 11, cost_basis: 110_367, realised_pnl: 667 });
  });

  test("closing takes the whole remaining basis: realised = Σ proceeds − Σ costs exactly", () => {
    // close: 11 × 99_00 − 110_367 = −1_467; total −800 = (40_800 + 108_900) − 150_500
    const { state, position } = given(buy(10, 100_00), buy(5, 101_00), sell(4, 102_00)).when(sell(11, 99_00));
    expect(position()).toMatchObject({ quantity: 0, cost_basis: 0, average_price: 0, realised_pnl: -800, unrealised_pnl: 0 });
    expect(state.totals.open_positions).toBe(0);
    expect(state.cash).toBe(START - 800);
  });

  test("a flip closes the long and opens the rest short at the fill price, in one fill", () => {
    const { position } = given(buy(10, 100_00)).when(sell(15, 110_00));
    expect(position()).toMatchObject({ quantity: -5, cost_basis: -550_00, average_price: 110_00, realised_pnl: 100_00 });
  });

  test("short → long flip", () => {
    const { position } = given(sell(10, 100_00)).when(buy(12, 90_00));
    // covered 10: sold for 1_000_00, bought back for 900_00 → +100_00; then long 2 at 90_00
    expect(position()).toMatchObject({ quantity: 2, cost_basis: 180_00, realised_pnl: 100_00 });
  });

  test("a short: covering part realises sale price − cover price; marking works out the sign", () => {
    // basis −1_000_00; cover 4 at 90_00: share −40_000, realised −36_000 + 40_000 = 4_000
    const { state } = given(sell(10, 100_00)).when(buy(4, 90_00));
    const p = state.positions[positionKey("s1", RELIANCE)] as Position;
    expect(p).toMatchObject({ quantity: -6, cost_basis: -600_00, realised_pnl: 40_00 });
    // marked at 95_00: −6 × 9_500 + 60_000 = 3_000
    expect((mark(state, { instrument_token: RELIANCE, last_price: 95_00 }).positions[positionKey("s1", RELIANCE)] as Position).unrealised_pnl).toBe(30_00);
  });

  test("proportional shares round half away from zero, the same for longs and shorts", () => {
    // long: basis 5 + 10 = 15 over 2; selling 1 takes 7.5 → 8; then the last takes the 7 left
    const long = given(buy(1, 5), buy(1, 10)).when(sell(1, 10));
    expect(long.position()).toMatchObject({ cost_basis: 7, realised_pnl: 2 });
    expect(given(buy(1, 5), buy(1, 10), sell(1, 10)).when(sell(1, 10)).position().realised_pnl).toBe(5); // 20 − 15
    // short: basis −15; covering 1 takes −7.5 → −8
    const short = given(sell(1, 5), sell(1, 10)).when(buy(1, 5));
    expect(short.position()).toMatchObject({ cost_basis: -7, realised_pnl: 3 });
    expect(given(sell(1, 5), sell(1, 10), buy(1, 5)).when(buy(1, 5)).position().realised_pnl).toBe(5); // 15 − 10
  });

  test("positions are per (strategy, instrument)", () => {
    const { state } = given(buy(10, 100_00, 0, "a"), sell(3, 100_00, 0, "b")).when(buy(1, 4_000_00, 0, "a", TCS));
    expect(Object.keys(state.positions).sort()).toEqual([positionKey("a", RELIANCE), positionKey("a", TCS), positionKey("b", RELIANCE)].sort());
    expect(state.totals.open_positions).toBe(3);
    expect(positionsOf(state, { strategy_id: "a" }).map((p) => p.instrument_token).sort()).toEqual([RELIANCE, TCS].sort());
  });
});

describe("marks", () => {
  test("the first fill on an unmarked instrument marks it; later fills do not move the mark", () => {
    const { position } = given(buy(10, 100_00)).when(buy(10, 102_00));
    // mark still 100_00: unrealised = 20 × 100_00 − 2_020_00 = −20_00
    expect(position()).toMatchObject({ last_price: 100_00, unrealised_pnl: -20_00 });
  });

  test("a tick marks every position on its instrument, and only those", () => {
    const state = [buy(10, 100_00, 0, "a"), sell(4, 100_00, 0, "b"), buy(1, 4_000_00, 0, "a", TCS)].reduce(evolve, initialPortfolio());
    const marked = mark(state, { instrument_token: RELIANCE, last_price: 105_00 });
    expect((marked.positions[positionKey("a", RELIANCE)] as Position).unrealised_pnl).toBe(50_00);
    expect((marked.positions[positionKey("b", RELIANCE)] as Position).unrealised_pnl).toBe(-20_00);
    expect(marked.positions[positionKey("a", TCS)]).toBe(state.positions[positionKey("a", TCS)] as Position);
    expect(marked.totals.unrealised_pnl).toBe(30_00);
  });

  test("a tick on an instrument with no positions only records the mark, used by the first fill", () => {
    const s = mark(initialPortfolio(), { instrument_token: TCS, last_price: 4_100_00 });
    expect(s.positions).toEqual({});
    const after = evolve(s, buy(1, 4_000_00, 0, "a", TCS));
    expect((after.positions[positionKey("a", TCS)] as Position).unrealised_pnl).toBe(100_00);
  });
});

describe("snapshot", () => {
  test("matches the pnl.snapshot schema; realised is gross, fees beside it; only open positions counted", () => {
    let state: PortfolioState = initialPortfolio({ broker: "paper", starting_cash: 50_000_00 });
    state = [buy(10, 100_00, 30), sell(10, 110_00, 40), buy(2, 4_000_00, 25, "s1", TCS)].reduce(evolve, state);
    state = mark(state, { instrument_token: TCS, last_price: 3_990_00 });
    const data = snapshot(state);
    expect(PAYLOADS["pnl.snapshot"].parse(data)).toEqual(data);
    expect(data).toEqual({
      broker: "paper",
      cash: 50_000_00 - 1_000_00 + 1_100_00 - 8_000_00 - 95,
      realised_pnl: 100_00,
      unrealised_pnl: -20_00,
      fees: 95,
      positions: 1,
    });
    expect(positionsOf(state, { open: true })).toHaveLength(1);
    expect(positionsOf(state)).toHaveLength(2);
  });

  test("bad settings are refused with every problem", () => {
    expect(() => initialPortfolio({ broker: "kite", starting_cash: -1 })).toThrow(/portfolio\.broker[\s\S]*portfolio\.starting_cash/);
  });
});

describe("replay", () => {
  test("rebuild(fills) deep-equals applying them one by one, and is pure", () => {
    const fills = [buy(10, 100_00, 5), sell(15, 110_00, 7), buy(5, 105_00, 3), buy(7, 4_000_00, 9, "t", TCS)];
    let live = initialPortfolio();
    const frozen = JSON.stringify(live);
    for (const f of fills) live = evolve(live, f);
    expect(rebuild(fills)).toEqual(live);
    expect(JSON.stringify(initialPortfolio())).toBe(frozen);
    expect(JSON.parse(JSON.stringify(live))).toEqual(live);
  });

  test("a corrupt fill is a broken invariant: it throws", () => {
    expect(() => evolve(initialPortfolio(), buy(0, 100_00))).toThrow(RangeError);
    expect(() => evolve(initialPortfolio(), buy(1, 100.5))).toThrow(RangeError);
    expect(() => evolve(initialPortfolio(), buy(1, 100_00, -1))).toThrow(RangeError);
  });
});
