/**
 * Our orders, fills and positions in OpenAlgo's book shapes, field for field as its Zerodha
 * mapping answers them (broker/zerodha/mapping/order_data.py, services/*book_service.py), with the
 * extra order and trade fields its analyzer (sandbox) adds. Pure: the routes (books.ts) fetch, these
 * map. Money arrives in paise and leaves as OpenAlgo's numbers of rupees (or its "%.2f" strings
 * where it answers strings), made from the exact decimal text, never by float arithmetic.
 */
import type { Instrument } from "../../src/market/instruments.ts";
import { toRupees, type Paise } from "../../src/money.ts";
import type { Product } from "../../src/orders/vocabulary.ts";
import type { OrderView, PortfolioView, PositionView, TradeView } from "../api/services.ts";
import { openAlgoExchange, openAlgoSymbol } from "./symbols.ts";
import { rupeesNumber } from "./values.ts";
import { orderStatusWord } from "../../src/openalgo-events/messages.ts";

/** Looks an instrument up by token (the services' master). */
export type ByToken = (token: number) => Instrument | undefined;

const IST_OFFSET_MS = 330 * 60_000;

/** An ISO instant as Kite's order_timestamp, in India time: "2025-04-08 13:58:03". */
export const istTimestamp = (iso: string): string => new Date(Date.parse(iso) + IST_OFFSET_MS).toISOString().slice(0, 19).replace("T", " ");

/** The ISO instant today (India's day) began at, for `now`. */
export function istDayStart(now: Date): string {
  const day = Math.floor((now.getTime() + IST_OFFSET_MS) / 86_400_000) * 86_400_000;
  return new Date(day - IST_OFFSET_MS).toISOString();
}

/** OpenAlgo's name for an instrument, or its token as text when the master does not know it. */
function names(token: number, byToken: ByToken): { symbol: string; exchange: string } {
  const i = byToken(token);
  return i ? { symbol: openAlgoSymbol(i), exchange: openAlgoExchange(i) } : { symbol: String(token), exchange: "" };
}

export { orderStatusWord } from "../../src/openalgo-events/messages.ts";

/** Paise → OpenAlgo's number, 0 for none. */
const num = (paise: Paise | undefined): number => (paise === undefined ? 0 : rupeesNumber(paise));

/**
 * One orderbook row.
 *
 * @example
 * orderRow(view, "CNC", byToken).order_status; // "complete"
 */
export function orderRow(o: OrderView, product: Product | undefined, byToken: ByToken) {
  return {
    action: o.side,
    ...names(o.instrument_token, byToken),
    orderid: o.order_id,
    product: product ?? "MIS",
    quantity: o.quantity,
    // OpenAlgo answers 0 as a MARKET order's price.
    price: o.order_type === "MARKET" ? 0 : num(o.price),
    pricetype: o.order_type,
    order_status: orderStatusWord(o.status, o.order_type, o.filled_quantity),
    trigger_price: num(o.trigger_price),
    timestamp: istTimestamp(o.created_at),
    average_price: num(o.average_price),
    filled_quantity: o.filled_quantity,
    pending_quantity: ["FILLED", "CANCELLED", "REJECTED", "FAILED"].includes(o.status) ? 0 : o.quantity - o.filled_quantity,
    rejection_reason: o.status === "REJECTED" || o.status === "FAILED" ? (o.message ?? o.reason_code ?? "") : "",
    strategy: o.strategy_id,
  };
}

export type OrderRow = ReturnType<typeof orderRow>;

/** The orderbook's statistics: counts by side and by status word. */
export function orderStatistics(rows: readonly OrderRow[]) {
  const count = (f: (r: OrderRow) => boolean) => rows.filter(f).length;
  return {
    total_buy_orders: count((r) => r.action === "BUY"),
    total_sell_orders: count((r) => r.action === "SELL"),
    total_completed_orders: count((r) => r.order_status === "complete"),
    total_open_orders: count((r) => r.order_status === "open"),
    total_rejected_orders: count((r) => r.order_status === "rejected"),
    total_trigger_pending_orders: count((r) => r.order_status === "trigger pending"),
  };
}

/** One tradebook row: a fill, its value quantity × price exactly. */
export function tradeRow(t: TradeView, product: Product | undefined, byToken: ByToken) {
  return {
    action: t.side,
    ...names(t.instrument_token, byToken),
    orderid: t.order_id,
    tradeid: t.fill_id,
    product: product ?? "MIS",
    quantity: t.quantity,
    average_price: rupeesNumber(t.price),
    price: rupeesNumber(t.price),
    trade_value: rupeesNumber(t.quantity * t.price),
    timestamp: istTimestamp(t.ts),
    strategy: t.strategy_id,
  };
}

/** Positions of one instrument and product, across strategies (OpenAlgo's book has no strategies). */
export interface NetPosition {
  instrument_token: number;
  product: Product;
  quantity: number;
  /** Σ |quantity| × average price of the legs on the net side, paise, and Σ |quantity| of them; 0 when flat. */
  cost: Paise;
  side_quantity: number;
  last_price?: Paise;
  realised_pnl: Paise;
  unrealised_pnl: Paise;
}

/**
 * Our positions (one per strategy and instrument) netted per instrument and product, as a
 * broker's position book is. `productOf` names the product a strategy's position is held under.
 */
export function netPositions(positions: readonly PositionView[], productOf: (p: PositionView) => Product): NetPosition[] {
  const byKey = new Map<string, { net: NetPosition; legs: PositionView[] }>();
  for (const p of positions) {
    const product = productOf(p);
    const key = `${p.instrument_token}:${product}`;
    let e = byKey.get(key);
    if (!e) byKey.set(key, (e = { net: { instrument_token: p.instrument_token, product, quantity: 0, cost: 0, side_quantity: 0, realised_pnl: 0, unrealised_pnl: 0 }, legs: [] }));
    e.net.quantity += p.quantity;
    e.net.realised_pnl += p.realised_pnl;
    e.net.unrealised_pnl += p.unrealised_pnl;
    if (p.last_price !== undefined) e.net.last_price = p.last_price;
    e.legs.push(p);
  }
  return [...byKey.values()].map(({ net, legs }) => {
    const sign = Math.sign(net.quantity);
    // The average is the net side's: legs held the other way are not part of what is open.
    for (const l of legs) {
      if (sign === 0 || Math.sign(l.quantity) !== sign) continue;
      net.cost += Math.abs(l.quantity) * l.average_price;
      net.side_quantity += Math.abs(l.quantity);
    }
    return net;
  });
}

/** The net side's average price, paise, rounded half up; 0 when flat. */
export function averageOf(n: NetPosition): Paise {
  if (n.quantity === 0 || n.side_quantity === 0) return 0;
  return Math.floor((2 * n.cost + n.side_quantity) / (2 * n.side_quantity));
}

/**
 * One positionbook row as OpenAlgo's Zerodha mapping answers it: quantity a number,
 * average_price a "%.2f" string, ltp and pnl numbers; pnl is today's realised and unrealised.
 */
export function positionRow(n: NetPosition, byToken: ByToken) {
  return {
    ...names(n.instrument_token, byToken),
    product: n.product,
    quantity: n.quantity,
    average_price: toRupees(averageOf(n)),
    ltp: num(n.last_price),
    pnl: rupeesNumber(n.realised_pnl + n.unrealised_pnl),
  };
}

/** A ratio as a percentage to two places (not money: a float is fine here). */
const percent = (part: number, whole: number): number => (whole === 0 ? 0 : Math.round((part * 10_000) / whole) / 100);

/**
 * Holdings: what is held as delivery (CNC) with a quantity, as OpenAlgo's analyzer keeps them, and
 * their statistics.
 */
export function holdingsOf(net: readonly NetPosition[], byToken: ByToken) {
  const held = net.filter((n) => n.product === "CNC" && n.quantity !== 0);
  let value = 0;
  let invested = 0;
  let pnl = 0;
  const holdings = held.map((n) => {
    const avg = averageOf(n);
    const ltp = n.last_price ?? avg;
    const rowValue = Math.abs(n.quantity) * ltp;
    const rowInvested = Math.abs(n.quantity) * avg;
    // The portfolio's own unrealised P&L (exact, from the cost basis), so holdings agree with it.
    const rowPnl = n.unrealised_pnl;
    value += rowValue;
    invested += rowInvested;
    pnl += rowPnl;
    return {
      ...names(n.instrument_token, byToken),
      product: "CNC",
      quantity: n.quantity,
      average_price: rupeesNumber(avg),
      ltp: rupeesNumber(ltp),
      pnl: rupeesNumber(rowPnl),
      pnlpercent: percent(rowPnl, rowInvested),
    };
  });
  return {
    holdings,
    statistics: {
      totalholdingvalue: rupeesNumber(value),
      totalinvvalue: rupeesNumber(invested),
      totalprofitandloss: rupeesNumber(pnl),
      totalpnlpercentage: percent(pnl, invested),
    },
  };
}

/**
 * Funds as OpenAlgo's Zerodha module answers them: "%.2f" strings. availablecash is our cash;
 * the M2M figures are the portfolio's realised and unrealised P&L (gross of fees, as our REST
 * portfolio reports them); utiliseddebits is what the open positions cost (paper has no margin
 * beyond that); collateral is none.
 */
export function fundsOf(p: PortfolioView) {
  const used = p.positions.reduce((sum, x) => sum + Math.abs(x.quantity) * x.average_price, 0);
  return {
    availablecash: toRupees(p.cash),
    collateral: toRupees(0),
    m2mrealized: toRupees(p.realised_pnl),
    m2munrealized: toRupees(p.unrealised_pnl),
    utiliseddebits: toRupees(used),
  };
}
