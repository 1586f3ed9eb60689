/**
 * Our orders, fills, positions and quotes in OpenAlgo's shapes (gateway/openalgo/books-map.ts,
 * market.ts, instruments.ts): status words, numbers and strings where OpenAlgo answers each,
 * exact money, positions netted per instrument and product, CNC positions as holdings, depth
 * padded to five levels, and search by OpenAlgo's names.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parseInstrumentsCsv } from "../../src/market/kite-csv.ts";
import { SAMPLE_CSV } from "../../src/market/master.ts";
import type { Quote } from "../../src/market/quotes.ts";
import type { OrderView, PortfolioView, PositionView } from "../../gateway/api/services.ts";
import {
  averageOf,
  fundsOf,
  holdingsOf,
  istDayStart,
  istTimestamp,
  netPositions,
  orderRow,
  orderStatistics,
  orderStatusWord,
  positionRow,
  tradeRow,
} from "../../gateway/openalgo/books-map.ts";
import { oaExpiry, searchEntries, symbolData } from "../../gateway/openalgo/instruments.ts";
import { depthData, quoteData } from "../../gateway/openalgo/market.ts";
import { symbolIndex } from "../../gateway/openalgo/symbols.ts";

// The master the embedded gateway starts with.
const SAMPLE_INSTRUMENTS = parseInstrumentsCsv(readFileSync(SAMPLE_CSV, "utf8"), "sample").instruments;
const symbols = symbolIndex(SAMPLE_INSTRUMENTS);
const byToken = (t: number) => SAMPLE_INSTRUMENTS.find((i) => i.instrument_token === t);
const RELIANCE = 738561;
const TCS = 2953217;

const order = (over: Partial<OrderView>): OrderView => ({
  order_id: "ord_1",
  broker: "paper",
  strategy_id: "manual",
  instrument_token: RELIANCE,
  side: "BUY",
  quantity: 10,
  filled_quantity: 10,
  order_type: "MARKET",
  status: "FILLED",
  correlation_id: "c",
  created_at: "2026-12-07T08:28:03.123Z",
  updated_at: "2026-12-07T08:28:03.500Z",
  average_price: 245135,
  ...over,
});

const position = (over: Partial<PositionView>): PositionView => ({
  strategy_id: "manual",
  instrument_token: RELIANCE,
  quantity: 10,
  average_price: 245135,
  last_price: 246000,
  realised_pnl: 0,
  unrealised_pnl: 8650,
  fees: 0,
  ...over,
});

describe("orders", () => {
  test("status words: Kite's, lower-cased; an SL order resting unfilled is trigger pending", () => {
    expect(orderStatusWord("FILLED", "MARKET", 10)).toBe("complete");
    expect(orderStatusWord("CANCELLED", "LIMIT", 0)).toBe("cancelled");
    expect(orderStatusWord("REJECTED", "LIMIT", 0)).toBe("rejected");
    expect(orderStatusWord("FAILED", "LIMIT", 0)).toBe("rejected");
    expect(orderStatusWord("OPEN", "LIMIT", 0)).toBe("open");
    expect(orderStatusWord("PENDING", "MARKET", 0)).toBe("open");
    expect(orderStatusWord("PARTIALLY_FILLED", "LIMIT", 3)).toBe("open");
    expect(orderStatusWord("OPEN", "SL", 0)).toBe("trigger pending");
    expect(orderStatusWord("OPEN", "SL-M", 0)).toBe("trigger pending");
  });

  test("a row: OpenAlgo's symbol and exchange, numbers of rupees, 0 as a MARKET order's price, India's time", () => {
    expect(orderRow(order({ price: 245000 }), "CNC", byToken)).toEqual({
      action: "BUY",
      symbol: "RELIANCE",
      exchange: "NSE",
      orderid: "ord_1",
      product: "CNC",
      quantity: 10,
      price: 0,
      pricetype: "MARKET",
      order_status: "complete",
      trigger_price: 0,
      timestamp: "2026-12-07 13:58:03",
      average_price: 2451.35,
      filled_quantity: 10,
      pending_quantity: 0,
      rejection_reason: "",
      strategy: "manual",
    });
    const limit = orderRow(order({ order_type: "SL", price: 245005, trigger_price: 245000, status: "OPEN", filled_quantity: 0, average_price: undefined }), undefined, byToken);
    expect(limit).toMatchObject({ product: "MIS", price: 2450.05, trigger_price: 2450, order_status: "trigger pending", pending_quantity: 10, average_price: 0 });
    const refused = orderRow(order({ status: "REJECTED", filled_quantity: 0, message: "over max_order_quantity" }), undefined, byToken);
    expect(refused.rejection_reason).toBe("over max_order_quantity");
  });

  test("statistics count by side and by status word", () => {
    const rows = [
      order({}),
      order({ side: "SELL", status: "OPEN", order_type: "LIMIT", price: 250000, filled_quantity: 0 }),
      order({ status: "REJECTED", filled_quantity: 0 }),
      order({ status: "OPEN", order_type: "SL-M", trigger_price: 240000, filled_quantity: 0 }),
    ].map((o) => orderRow(o, undefined, byToken));
    expect(orderStatistics(rows)).toEqual({
      total_buy_orders: 3,
      total_sell_orders: 1,
      total_completed_orders: 1,
      total_open_orders: 1,
      total_rejected_orders: 1,
      total_trigger_pending_orders: 1,
    });
  });

  test("times: India's wall clock; today starts at India's midnight", () => {
    expect(istTimestamp("2026-12-07T18:29:59.999Z")).toBe("2026-12-07 23:59:59");
    expect(istDayStart(new Date("2026-12-07T18:30:00Z"))).toBe("2026-12-07T18:30:00.000Z");
    expect(istDayStart(new Date("2026-12-07T10:00:00Z"))).toBe("2026-12-06T18:30:00.000Z");
  });
});

describe("trades", () => {
  test("a fill: its price as average_price, its value quantity × price exactly", () => {
    const row = tradeRow({ fill_id: "f1", event_id: "e1", order_id: "ord_1", broker: "paper", strategy_id: "manual", instrument_token: TCS, side: "SELL", quantity: 3, price: 412005, fees: 0, ts: "2026-12-07T04:00:00.000Z" }, "NRML", byToken);
    expect(row).toEqual({
      action: "SELL",
      symbol: "TCS",
      exchange: "NSE",
      orderid: "ord_1",
      tradeid: "f1",
      product: "NRML",
      quantity: 3,
      average_price: 4120.05,
      price: 4120.05,
      trade_value: 12360.15,
      timestamp: "2026-12-07 09:30:00",
      strategy: "manual",
    });
  });
});

describe("positions, holdings, funds", () => {
  test("netted per instrument and product across strategies; the average is the net side's", () => {
    const legs = [
      position({ strategy_id: "a", quantity: 10, average_price: 100000, unrealised_pnl: 500 }),
      position({ strategy_id: "b", quantity: 5, average_price: 100300, unrealised_pnl: -700, realised_pnl: 1200 }),
      position({ strategy_id: "c", quantity: -3, average_price: 99000, unrealised_pnl: -3000 }),
      position({ strategy_id: "d", instrument_token: TCS, quantity: 0, average_price: 0, realised_pnl: -250, unrealised_pnl: 0, last_price: 412000 }),
    ];
    const net = netPositions(legs, (p) => (p.strategy_id === "b" ? "MIS" : p.strategy_id === "d" ? "CNC" : "MIS"));
    expect(net).toHaveLength(2);
    const rel = net.find((n) => n.instrument_token === RELIANCE)!;
    expect(rel).toMatchObject({ quantity: 12, realised_pnl: 1200, unrealised_pnl: -3200, cost: 10 * 100000 + 5 * 100300, side_quantity: 15 });
    // (1,000,000 + 501,500) / 15 = 100,100 exactly.
    expect(averageOf(rel)).toBe(100100);
    expect(positionRow(rel, byToken)).toEqual({ symbol: "RELIANCE", exchange: "NSE", product: "MIS", quantity: 12, average_price: "1001.00", ltp: 2460, pnl: -20 });
    const flat = net.find((n) => n.instrument_token === TCS)!;
    expect(positionRow(flat, byToken)).toEqual({ symbol: "TCS", exchange: "NSE", product: "CNC", quantity: 0, average_price: "0.00", ltp: 4120, pnl: -2.5 });
  });

  test("the average rounds half up, in integers", () => {
    const [n] = netPositions([position({ quantity: 3, average_price: 0 }), position({ strategy_id: "x", quantity: 0 })], () => "MIS");
    n!.cost = 100001;
    n!.side_quantity = 3;
    expect(averageOf(n!)).toBe(33334);
  });

  test("holdings: CNC positions with a quantity, their P&L the portfolio's own, statistics summed", () => {
    const net = netPositions(
      [
        position({ quantity: 10, average_price: 245135, last_price: 246000, unrealised_pnl: 8650 }),
        position({ strategy_id: "m", instrument_token: TCS, quantity: 2, average_price: 412000, last_price: 412500, unrealised_pnl: 1000 }),
      ],
      (p) => (p.instrument_token === RELIANCE ? "CNC" : "MIS"),
    );
    const h = holdingsOf(net, byToken);
    expect(h.holdings).toEqual([{ symbol: "RELIANCE", exchange: "NSE", product: "CNC", quantity: 10, average_price: 2451.35, ltp: 2460, pnl: 86.5, pnlpercent: 0.35 }]);
    expect(h.statistics).toEqual({ totalholdingvalue: 24600, totalinvvalue: 24513.5, totalprofitandloss: 86.5, totalpnlpercentage: 0.35 });
  });

  test("funds: OpenAlgo's %.2f strings, the portfolio's cash and P&L to the paisa", () => {
    const p: PortfolioView = {
      broker: "paper",
      cash: 97_548_650,
      realised_pnl: -1205,
      unrealised_pnl: 8650,
      fees: 0,
      positions: [position({ quantity: 10, average_price: 245135 }), position({ strategy_id: "s", quantity: -2, average_price: 100005 })],
    };
    expect(fundsOf(p)).toEqual({ availablecash: "975486.50", collateral: "0.00", m2mrealized: "-12.05", m2munrealized: "86.50", utiliseddebits: "26513.60" });
  });
});

describe("quotes and depth", () => {
  const quote: Quote = { instrument_token: RELIANCE, ltp: 245135, ltq: 5, bid: 245130, ask: 245140, open: 244000, high: 246000, low: 243500, prev_close: 243000, volume: 1200, day: "2026-12-07", ts: "2026-12-07T04:00:00Z" };

  test("a quote in OpenAlgo's fields, numbers of rupees; oi 0 (we carry none)", () => {
    expect(quoteData(quote)).toEqual({ ask: 2451.4, bid: 2451.3, high: 2460, low: 2435, ltp: 2451.35, open: 2440, prev_close: 2430, volume: 1200, oi: 0 });
    expect(quoteData({ ...quote, bid: undefined, ask: undefined, prev_close: undefined, volume: undefined })).toMatchObject({ bid: 0, ask: 0, prev_close: 0, volume: 0 });
  });

  test("depth without a book: the best bid and ask as one level, padded to five as OpenAlgo does", () => {
    const d = depthData(quote);
    expect(d.bids).toEqual([{ price: 2451.3, quantity: 0 }, ...Array(4).fill({ price: 0, quantity: 0 })]);
    expect(d.asks[0]).toEqual({ price: 2451.4, quantity: 0 });
    expect(d).toMatchObject({ ltp: 2451.35, ltq: 5, oi: 0, totalbuyqty: 0, totalsellqty: 0 });
  });

  test("depth with a full-mode book: its levels, the totals their sums", () => {
    const book = { buy: [{ price: 245130, quantity: 10, orders: 1 }, { price: 245125, quantity: 4, orders: 2 }], sell: [{ price: 245140, quantity: 7, orders: 1 }] };
    const d = depthData({ ...quote, depth: book });
    expect(d.bids.slice(0, 3)).toEqual([{ price: 2451.3, quantity: 10 }, { price: 2451.25, quantity: 4 }, { price: 0, quantity: 0 }]);
    expect(d.asks).toHaveLength(5);
    expect(d).toMatchObject({ totalbuyqty: 14, totalsellqty: 7 });
  });
});

describe("symbol and search", () => {
  test("symbol fields: OpenAlgo's names beside Kite's, the expiry DD-MMM-YY, the tick size in rupees", () => {
    const fut = symbols.entries().find((e) => e.instrument.instrument_token === 13238786)!;
    expect(symbolData(fut)).toEqual({
      id: 13238786,
      symbol: "NIFTY30DEC25FUT",
      brsymbol: "NIFTY25DECFUT",
      name: "NIFTY",
      exchange: "NFO",
      brexchange: "NFO",
      token: "13238786",
      expiry: "30-DEC-25",
      strike: 0,
      lotsize: fut.instrument.lot_size,
      instrumenttype: "FUT",
      tick_size: fut.instrument.tick_size / 100,
    });
    expect(oaExpiry(undefined)).toBe("");
  });

  test("search: every word must appear; an exchange narrows it; the exact symbol first", () => {
    expect(searchEntries(symbols.entries(), "reliance", undefined).map((e) => `${e.exchange}:${e.symbol}`)).toEqual(["NSE:RELIANCE", "BSE:RELIANCE"]);
    expect(searchEntries(symbols.entries(), "RELIANCE", "NSE").map((e) => e.symbol)).toEqual(["RELIANCE"]);
    expect(searchEntries(symbols.entries(), "NIFTY DEC FUT", undefined).map((e) => e.symbol)).toEqual(["NIFTY30DEC25FUT"]);
    expect(searchEntries(symbols.entries(), "NIFTY", "NSE_INDEX").map((e) => e.symbol)).toEqual(["NIFTY", "BANKNIFTY"]);
    expect(searchEntries(symbols.entries(), "NO SUCH THING", undefined)).toEqual([]);
  });
});
