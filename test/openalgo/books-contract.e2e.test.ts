/**
 * OpenAlgo's books and market data on the embedded gateway, as an OpenAlgo client meets them:
 * every endpoint driven with the request bodies OpenAlgo's documentation shows (docs/api/...),
 * each answer checked against the response schemas (spec/responses-books.yaml), success and the
 * documented errors; after trades placed through our REST API the books agree with
 * GET /portfolios/paper, /orders and /trades; quotes and depth show the ticks posted.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { apiClient, until } from "../support/api-client.ts";
import type { GatewayProcess } from "../support/gateway-process.ts";
import { slowTests } from "../support/timeout.ts";
import { responseProblems } from "./contract.ts";
import { contractCall, oaClient, embeddedGateway } from "./support.ts";

slowTests();

const KEY = "ap_openalgo_books_e2e_0123456789abc";
const RELIANCE = 738561;
const TCS = 2953217;
const SBIN = 779521;
const NIFTY_FUT = 13238786;

type Api = ReturnType<typeof apiClient>;
type Oa = ReturnType<typeof oaClient>;

const BOOKS = ["orderbook", "tradebook", "positionbook", "holdings", "funds"] as const;

/** A decimal string of rupees as paise, exactly. */
function paise(rupees: string): number {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(rupees);
  if (!m) throw new Error(`not an amount: ${rupees}`);
  return (m[1] ? -1 : 1) * (Number(m[2]) * 100 + Number((m[3] ?? "").padEnd(2, "0")));
}

async function postTicks(api: Api, ticks: Array<Record<string, unknown>>): Promise<void> {
  const r = await api.post("/api/v1/ticks", { ticks: ticks.map((t) => ({ exchange_ts: new Date().toISOString(), ...t })) });
  expect(r.status).toBe(202);
}

async function settled(api: Api, body: Record<string, unknown>): Promise<Record<string, any>> {
  const placed = await api.post("/api/v1/orders", { broker: "paper", ...body });
  expect(placed.status).toBe(202);
  const id = placed.body.order.order_id as string;
  return until(`order ${id} to settle`, async () => {
    const o = (await api.get(`/api/v1/orders/${id}`)).body.order;
    return o && o.status !== "PENDING" ? o : undefined;
  }, 15_000, 20);
}

describe("OpenAlgo books and market data on the embedded gateway", () => {
  let gw: GatewayProcess;
  let api: Api;
  let oa: Oa;
  let url: string;

  beforeAll(async () => {
    ({ gw, url, api, oa } = await embeddedGateway(KEY));
  }, 60_000);
  afterAll(async () => {
    if (gw) expect((await gw.interrupt()).code).toBe(0);
  });

  test("quotes, multiquotes and depth show the ticks posted: the day's open, high and low, the last bid and ask", async () => {
    await postTicks(api, [{ instrument_token: SBIN, last_price: "812.65", volume: 1000, last_quantity: 10, bid: "812.60", ask: "812.70" }]);
    await postTicks(api, [{ instrument_token: SBIN, last_price: "815.00", volume: 1500 }]);
    await postTicks(api, [{ instrument_token: SBIN, last_price: "810.10", volume: 1800, last_quantity: 25, bid: "810.05", ask: "810.15" }]);
    await postTicks(api, [{ instrument_token: TCS, last_price: "4120.05" }]);
    const quote = await until("the quote to show the last tick", async () => {
      const r = await oa.call("quotes", { symbol: "SBIN", exchange: "NSE" });
      return r.status === 200 && r.body.data.ltp === 810.1 ? r : undefined;
    }, 10_000, 50);
    expect(responseProblems("/quotes", quote.status, quote.body)).toEqual([]);
    expect(quote.body).toEqual({ status: "success", data: { open: 812.65, high: 815, low: 810.1, ltp: 810.1, bid: 810.05, ask: 810.15, prev_close: 0, volume: 1800, oi: 0 } });

    const depth = await contractCall(oa, "depth", { symbol: "SBIN", exchange: "NSE" });
    expect(depth.status).toBe(200);
    expect(depth.body.data).toMatchObject({ ltp: 810.1, ltq: 25, open: 812.65, high: 815, low: 810.1, volume: 1800, oi: 0 });
    // Ticks posted through the API carry no book: the best bid and ask as one level, padded to five.
    expect(depth.body.data.bids).toEqual([{ price: 810.05, quantity: 0 }, ...Array(4).fill({ price: 0, quantity: 0 })]);
    expect(depth.body.data.asks[0]).toEqual({ price: 810.15, quantity: 0 });

    const multi = await until("TCS's quote too", async () => {
      const r = await oa.call("multiquotes", { symbols: [{ symbol: "SBIN", exchange: "NSE" }, { symbol: "TCS", exchange: "NSE" }] });
      return r.body.results?.every((x: any) => x.data) ? r : undefined;
    }, 10_000, 50);
    expect(responseProblems("/multiquotes", multi.status, multi.body)).toEqual([]);
    expect(multi.body.results.map((x: any) => [x.symbol, x.data.ltp])).toEqual([["SBIN", 810.1], ["TCS", 4120.05]]);
  });

  test("the documented request bodies: every endpoint answers in its documented shape", async () => {
    await postTicks(api, [{ instrument_token: RELIANCE, last_price: "1290.45", bid: "1290.40", ask: "1290.50" }]);
    await until("RELIANCE's quote", async () => ((await oa.call("quotes", { symbol: "RELIANCE", exchange: "NSE" })).status === 200 ? true : undefined), 10_000, 50);

    for (const name of [...BOOKS, "intervals"]) expect((await contractCall(oa, name)).status).toBe(200);
    expect((await contractCall(oa, "quotes", { symbol: "RELIANCE", exchange: "NSE" })).status).toBe(200);
    // docs/api/market-data/multiquotes.md: RELIANCE, TCS and INFY; INFY has had no tick, so it answers its error beside the others' data.
    const multi = await contractCall(oa, "multiquotes", { symbols: [{ symbol: "RELIANCE", exchange: "NSE" }, { symbol: "TCS", exchange: "NSE" }, { symbol: "INFY", exchange: "NSE" }] });
    expect(multi.status).toBe(200);
    expect(multi.body.results.find((x: any) => x.symbol === "INFY").error).toContain("no tick");
    expect((await contractCall(oa, "depth", { symbol: "SBIN", exchange: "NSE" })).status).toBe(200);

    const symbol = await contractCall(oa, "symbol", { symbol: "RELIANCE", exchange: "NSE" });
    expect(symbol.body.data).toMatchObject({ symbol: "RELIANCE", brsymbol: "RELIANCE", exchange: "NSE", brexchange: "NSE", token: String(RELIANCE), lotsize: 1, tick_size: 0.05, expiry: "" });
    const fut = await contractCall(oa, "symbol", { symbol: "NIFTY30DEC25FUT", exchange: "NFO" });
    expect(fut.body.data).toMatchObject({ brsymbol: "NIFTY25DECFUT", instrumenttype: "FUT", expiry: "30-DEC-25", token: String(NIFTY_FUT) });

    // docs/api/symbol-services/search.md's query finds nothing in the sample master: success, with OpenAlgo's message.
    const none = await contractCall(oa, "search", { query: "NIFTY 26000 DEC CE", exchange: "NFO" });
    expect(none.body).toEqual({ status: "success", message: "No matching symbols found", data: [] });
    const found = await contractCall(oa, "search", { query: "NIFTY DEC FUT", exchange: "NFO" });
    expect(found.body).toMatchObject({ status: "success", message: "Found 1 matching symbols" });
    expect(found.body.data[0].symbol).toBe("NIFTY30DEC25FUT");
    const reliance = await contractCall(oa, "search", { query: "reliance" });
    expect(reliance.body.data.map((d: any) => `${d.exchange}:${d.symbol}`)).toEqual(["NSE:RELIANCE", "BSE:RELIANCE"]);
    const index = await contractCall(oa, "symbol", { symbol: "NIFTY", exchange: "NSE_INDEX" });
    expect(index.body.data).toMatchObject({ brsymbol: "NIFTY 50", brexchange: "NSE" });

    expect((await contractCall(oa, "intervals")).body.data).toEqual({ seconds: [], minutes: ["1m", "3m", "5m", "10m", "15m", "30m", "60m"], hours: ["1h"], days: ["D"], weeks: [], months: [] });
  });

  test("the documented errors: a wrong apikey is 403, an unknown symbol 400 (symbol: 404), a missing field 400, an instrument never seen 404", async () => {
    const stranger = oaClient(url, "ap_not_a_key_of_this_gateway_000000");
    for (const name of [...BOOKS, "quotes", "multiquotes", "depth", "symbol", "search", "intervals"]) {
      const fields = name === "multiquotes" ? { symbols: [{ symbol: "RELIANCE", exchange: "NSE" }] } : name === "search" ? { query: "RELIANCE" } : ["quotes", "depth", "symbol"].includes(name) ? { symbol: "RELIANCE", exchange: "NSE" } : {};
      const r = await contractCall(stranger, name, fields);
      expect(r).toEqual({ status: 403, body: { status: "error", message: "Invalid openalgo apikey" } });
    }

    const unknown = await contractCall(oa, "quotes", { symbol: "NOSUCHSYM", exchange: "NSE" });
    expect(unknown).toEqual({ status: 400, body: { status: "error", message: "Symbol 'NOSUCHSYM' not found for exchange 'NSE'. Please verify the symbol name and ensure master contracts are downloaded.", mode: "analyze" } });
    expect((await contractCall(oa, "depth", { symbol: "NOSUCHSYM", exchange: "NSE" })).status).toBe(400);
    const allUnknown = await contractCall(oa, "multiquotes", { symbols: [{ symbol: "NOSUCHSYM", exchange: "NSE" }] });
    expect(allUnknown.status).toBe(400);
    expect(allUnknown.body.message).toContain("NOSUCHSYM");
    expect(await contractCall(oa, "symbol", { symbol: "NOSUCHSYM", exchange: "NSE" })).toEqual({ status: 404, body: { status: "error", message: "Symbol NOSUCHSYM not found in exchange NSE", mode: "analyze" } });

    const unseen = await contractCall(oa, "quotes", { symbol: "INFY", exchange: "NSE" });
    expect(unseen.status).toBe(404);
    expect(unseen.body.message).toBe("no quote for NSE:INFY yet: the gateway has seen no tick of it since its quotes began");
    expect((await contractCall(oa, "depth", { symbol: "INFY", exchange: "NSE" })).status).toBe(404);

    const noExchange = await oa.call("quotes", { symbol: "RELIANCE" });
    expect(noExchange.status).toBe(400);
    expect(noExchange.body.message).toContain("exchange");
    expect(responseProblems("/quotes", noExchange.status, noExchange.body)).toEqual([]);
    const badExchange = await oa.call("symbol", { symbol: "RELIANCE", exchange: "NASDAQ" });
    expect(badExchange.status).toBe(400);
    expect(badExchange.body.message).toContain("exchange");
    const empty = await contractCall(oa, "search", { query: "  " });
    expect(empty).toEqual({ status: 400, body: { status: "error", message: "Query parameter is required and cannot be empty", mode: "analyze" } });
    expect((await oa.call("multiquotes", { symbols: [] })).status).toBe(400);
  });

  test("after trades placed with our REST API, the books agree with /portfolios/paper, /orders and /trades", async () => {
    await postTicks(api, [
      { instrument_token: RELIANCE, last_price: "1290.45" },
      { instrument_token: TCS, last_price: "4120.05" },
    ]);
    const buy = await settled(api, { instrument_token: RELIANCE, side: "BUY", quantity: 10, order_type: "MARKET", product: "MIS" });
    expect(buy.status).toBe("FILLED");
    const cnc = await settled(api, { instrument_token: TCS, side: "BUY", quantity: 5, order_type: "MARKET", product: "CNC" });
    expect(cnc.status).toBe("FILLED");
    await postTicks(api, [{ instrument_token: RELIANCE, last_price: "1300.00" }]);
    const sell = await settled(api, { instrument_token: RELIANCE, side: "SELL", quantity: 4, order_type: "MARKET", product: "MIS" });
    expect(sell.status).toBe("FILLED");
    const resting = await settled(api, { instrument_token: RELIANCE, side: "BUY", quantity: 1, order_type: "LIMIT", price: "1260.00", product: "MIS" });
    expect(resting.status).toBe("OPEN");
    await postTicks(api, [{ instrument_token: TCS, last_price: "4130.00" }, { instrument_token: RELIANCE, last_price: "1295.50" }]);

    // The portfolio stage marks positions from the ticks: wait until the REST portfolio has the last marks.
    const portfolio = await until("the portfolio to be marked at the last prices", async () => {
      const p = (await api.get("/api/v1/portfolios/paper")).body.portfolio;
      const marks = Object.fromEntries((p?.positions ?? []).map((x: any) => [x.instrument_token, x.last_price]));
      return marks[RELIANCE] === "1295.50" && marks[TCS] === "4130.00" ? p : undefined;
    }, 15_000, 50);

    const restPosition = (token: number) => portfolio.positions.find((p: any) => p.instrument_token === token);
    const funds = await contractCall(oa, "funds");
    expect(funds.body.data).toMatchObject({ availablecash: portfolio.cash, collateral: "0.00", m2mrealized: portfolio.realised_pnl, m2munrealized: portfolio.unrealised_pnl });
    // What the open positions cost: 6 RELIANCE and 5 TCS at their average prices.
    expect(paise(funds.body.data.utiliseddebits)).toBe(6 * paise(restPosition(RELIANCE).average_price) + 5 * paise(restPosition(TCS).average_price));

    const positions = (await contractCall(oa, "positionbook")).body.data as any[];
    for (const [token, symbol, product, quantity] of [[RELIANCE, "RELIANCE", "MIS", 6], [TCS, "TCS", "CNC", 5]] as const) {
      const ours = restPosition(token);
      const row = positions.find((p) => p.symbol === symbol);
      expect(row).toEqual({ symbol, exchange: "NSE", product, quantity, average_price: ours.average_price, ltp: Number(ours.last_price), pnl: row.pnl });
      expect(Math.round(row.pnl * 100)).toBe(paise(ours.realised_pnl) + paise(ours.unrealised_pnl));
    }
    // RELIANCE's realised P&L (4 sold) is in its row with the unrealised; every row together is the portfolio's.
    expect(paise(restPosition(RELIANCE).realised_pnl)).not.toBe(0);
    expect(Math.round(positions.reduce((s, p) => s + p.pnl, 0) * 100)).toBe(paise(portfolio.realised_pnl) + paise(portfolio.unrealised_pnl));

    const holdings = (await contractCall(oa, "holdings")).body.data;
    const tcs = restPosition(TCS);
    expect(holdings.holdings).toEqual([
      { symbol: "TCS", exchange: "NSE", product: "CNC", quantity: 5, average_price: Number(tcs.average_price), ltp: 4130, pnl: Number(tcs.unrealised_pnl), pnlpercent: holdings.holdings[0].pnlpercent },
    ]);
    expect(holdings.statistics).toMatchObject({ totalholdingvalue: 20650, totalinvvalue: (5 * paise(tcs.average_price)) / 100, totalprofitandloss: Number(tcs.unrealised_pnl) });

    const book = (await contractCall(oa, "orderbook")).body.data;
    const rest = (await api.get("/api/v1/orders?broker=paper&limit=100")).body.orders as any[];
    expect(book.orders.map((o: any) => o.orderid)).toEqual(rest.map((o) => o.order_id));
    const row = (id: string) => book.orders.find((o: any) => o.orderid === id);
    expect(row(buy.order_id)).toMatchObject({ action: "BUY", symbol: "RELIANCE", exchange: "NSE", product: "MIS", quantity: 10, price: 0, pricetype: "MARKET", order_status: "complete", average_price: Number(buy.average_price), filled_quantity: 10 });
    expect(row(cnc.order_id)).toMatchObject({ symbol: "TCS", product: "CNC", order_status: "complete", average_price: Number(cnc.average_price) });
    expect(row(sell.order_id)).toMatchObject({ action: "SELL", quantity: 4, order_status: "complete", average_price: Number(sell.average_price) });
    expect(row(resting.order_id)).toMatchObject({ pricetype: "LIMIT", price: 1260, order_status: "open", pending_quantity: 1 });
    const count = (f: (o: any) => boolean) => rest.filter(f).length;
    expect(book.statistics).toMatchObject({
      total_buy_orders: count((o) => o.side === "BUY"),
      total_sell_orders: count((o) => o.side === "SELL"),
      total_completed_orders: count((o) => o.status === "FILLED"),
      total_open_orders: count((o) => ["OPEN", "PENDING", "PARTIALLY_FILLED"].includes(o.status)),
      total_rejected_orders: count((o) => ["REJECTED", "FAILED"].includes(o.status)),
    });

    const trades = (await contractCall(oa, "tradebook")).body.data as any[];
    const restTrades = (await api.get("/api/v1/trades?broker=paper&limit=100")).body.trades as any[];
    expect(trades.map((t) => [t.orderid, t.quantity, t.average_price])).toEqual(restTrades.map((t) => [t.order_id, t.quantity, Number(t.price)]));
    const sold = trades.find((t) => t.orderid === sell.order_id);
    expect(sold).toMatchObject({ action: "SELL", symbol: "RELIANCE", exchange: "NSE", product: "MIS", quantity: 4, average_price: Number(sell.average_price) });
    expect(Math.round(sold.trade_value * 100)).toBe(4 * paise(sell.average_price));
    expect(trades.find((t) => t.orderid === cnc.order_id)).toMatchObject({ product: "CNC", trade_value: (5 * paise(cnc.average_price)) / 100 });
  });
});
