/**
 * The fake Kite's order book, written from Kite Connect v3's docs: orders with their history of
 * states, fills as trades, positions derived from the trades. Money is paise in here and rupee
 * numbers on the way out, as Kite sends them.
 */
import { toPaise } from "../../../src/money.ts";

/** Kite's error answer: the HTTP status and the `{status:"error"}` body. */
export interface KiteFailureBody {
  status: number;
  error_type: string;
  message: string;
}

export interface BookTrade {
  trade_id: string;
  order_id: string;
  quantity: number;
  price: number;
  at: string;
}

export interface BookOrder {
  order_id: string;
  exchange_order_id: string | null;
  variety: string;
  exchange: string;
  tradingsymbol: string;
  instrument_token: number;
  transaction_type: "BUY" | "SELL";
  order_type: "MARKET" | "LIMIT" | "SL" | "SL-M";
  product: string;
  validity: string;
  quantity: number;
  disclosed_quantity: number;
  /** Paise. */
  price: number;
  trigger_price: number;
  filled: number;
  cancelled: number;
  status: string;
  status_message: string | null;
  tag: string | null;
  order_timestamp: string;
  exchange_timestamp: string | null;
  /** Every state the order was in, as Kite JSON, oldest first (GET /orders/:id). */
  history: Record<string, unknown>[];
  trades: BookTrade[];
}

const ORDER_TYPES = ["MARKET", "LIMIT", "SL", "SL-M"] as const;
const PRODUCTS = ["CNC", "NRML", "MIS", "MTF"];
const VARIETIES = ["regular", "amo", "co", "iceberg", "auction"];
const LIVE = new Set(["OPEN", "TRIGGER PENDING", "AMO REQ RECEIVED"]);

/** Kite's timestamps: IST wall time, "2022-03-03 09:24:25". */
export function kiteTime(d: Date): string {
  return new Date(d.getTime() + 5.5 * 3600_000).toISOString().slice(0, 19).replace("T", " ");
}

const rupees = (paise: number): number => paise / 100;
const input = (message: string): KiteFailureBody => ({ status: 400, error_type: "InputException", message });

function money(form: Record<string, string>, field: string): number | KiteFailureBody | undefined {
  const v = form[field];
  if (v === undefined || v === "") return undefined;
  try {
    return toPaise(v);
  } catch {
    return input(`Invalid \`${field}\`.`);
  }
}

function count(form: Record<string, string>, field: string): number | KiteFailureBody | undefined {
  const v = form[field];
  if (v === undefined || v === "") return undefined;
  return /^\d+$/.test(v) ? Number(v) : input(`Invalid \`${field}\`.`);
}

const failed = (v: unknown): v is KiteFailureBody => typeof v === "object" && v !== null && "error_type" in v;

export interface BookOptions {
  userId: string;
  now: () => Date;
  tokenOf: (exchange: string, symbol: string) => number | undefined;
  lastPrice: (exchange: string, symbol: string) => number;
}

export class OrderBook {
  readonly orders = new Map<string, BookOrder>();
  private seq = 0;
  private tradeSeq = 0;
  /** Messages for the next placements to be rejected by "RMS" (200 with an order_id, then REJECTED). */
  readonly rejectNext: string[] = [];

  constructor(private readonly o: BookOptions) {}

  place(variety: string, form: Record<string, string>): { order_id: string } | KiteFailureBody {
    if (!VARIETIES.includes(variety)) return input(`Invalid \`variety\`.`);
    for (const f of ["tradingsymbol", "exchange", "transaction_type", "order_type", "quantity", "product"]) {
      if (!form[f]) return input(`Missing \`${f}\`.`);
    }
    const token = this.o.tokenOf(form.exchange!, form.tradingsymbol!);
    if (token === undefined) return input(`Invalid \`tradingsymbol\`: ${form.exchange}:${form.tradingsymbol} is not an instrument.`);
    if (form.transaction_type !== "BUY" && form.transaction_type !== "SELL") return input("Invalid `transaction_type`.");
    const orderType = ORDER_TYPES.find((t) => t === form.order_type);
    if (!orderType) return input("Invalid `order_type`.");
    if (!PRODUCTS.includes(form.product!)) return input("Invalid `product`.");
    const quantity = count(form, "quantity");
    const disclosed = count(form, "disclosed_quantity");
    const price = money(form, "price");
    const trigger = money(form, "trigger_price");
    for (const v of [quantity, disclosed, price, trigger]) if (failed(v)) return v;
    if (!quantity || failed(quantity)) return input("Invalid `quantity`.");
    if ((orderType === "LIMIT" || orderType === "SL") && !price) return input("Invalid `price`.");
    if ((orderType === "SL" || orderType === "SL-M") && !trigger) return input("Invalid `trigger_price`.");

    const now = this.o.now();
    const d = kiteTime(now).slice(2, 10).replaceAll("-", "");
    const order: BookOrder = {
      order_id: `${d}${String(++this.seq).padStart(9, "0")}`,
      exchange_order_id: null,
      variety,
      exchange: form.exchange!,
      tradingsymbol: form.tradingsymbol!,
      instrument_token: token,
      transaction_type: form.transaction_type,
      order_type: orderType,
      product: form.product!,
      validity: form.validity || "DAY",
      quantity,
      disclosed_quantity: (disclosed as number | undefined) ?? 0,
      price: (price as number | undefined) ?? 0,
      trigger_price: (trigger as number | undefined) ?? 0,
      filled: 0,
      cancelled: 0,
      status: "PUT ORDER REQ RECEIVED",
      status_message: null,
      tag: form.tag || null,
      order_timestamp: kiteTime(now),
      exchange_timestamp: null,
      history: [],
      trades: [],
    };
    this.orders.set(order.order_id, order);
    this.snapshot(order, "PUT ORDER REQ RECEIVED");
    this.snapshot(order, "VALIDATION PENDING");
    const rejection = this.rejectNext.shift();
    if (rejection !== undefined) {
      order.status_message = rejection;
      this.snapshot(order, "REJECTED");
      return { order_id: order.order_id };
    }
    if (variety === "amo") {
      this.snapshot(order, "AMO REQ RECEIVED");
      return { order_id: order.order_id };
    }
    this.snapshot(order, "OPEN PENDING");
    order.exchange_order_id = `11000000${String(this.seq).padStart(8, "0")}`;
    order.exchange_timestamp = kiteTime(now);
    if (orderType === "MARKET") this.fill(order.order_id, order.quantity, this.o.lastPrice(order.exchange, order.tradingsymbol));
    else this.snapshot(order, orderType === "LIMIT" ? "OPEN" : "TRIGGER PENDING");
    return { order_id: order.order_id };
  }

  modify(variety: string, id: string, form: Record<string, string>): { order_id: string } | KiteFailureBody {
    const order = this.orders.get(id);
    if (!order) return input("Couldn't find that `order_id`.");
    if (order.variety !== variety) return input("Invalid `variety`.");
    if (!LIVE.has(order.status)) return { status: 400, error_type: "OrderException", message: `Order cannot be modified as it is ${order.status}.` };
    const quantity = count(form, "quantity");
    const disclosed = count(form, "disclosed_quantity");
    const price = money(form, "price");
    const trigger = money(form, "trigger_price");
    for (const v of [quantity, disclosed, price, trigger]) if (failed(v)) return v;
    if (quantity !== undefined && (quantity as number) <= order.filled) return input("Invalid `quantity`: at or below the filled quantity.");
    const type = form.order_type ? ORDER_TYPES.find((t) => t === form.order_type) : order.order_type;
    if (!type) return input("Invalid `order_type`.");
    const back = order.status;
    this.snapshot(order, "MODIFY VALIDATION PENDING");
    order.quantity = (quantity as number | undefined) ?? order.quantity;
    order.disclosed_quantity = (disclosed as number | undefined) ?? order.disclosed_quantity;
    order.price = (price as number | undefined) ?? order.price;
    order.trigger_price = (trigger as number | undefined) ?? order.trigger_price;
    order.order_type = type;
    if (form.validity) order.validity = form.validity;
    this.snapshot(order, "MODIFIED");
    this.snapshot(order, back);
    return { order_id: id };
  }

  cancel(variety: string, id: string): { order_id: string } | KiteFailureBody {
    const order = this.orders.get(id);
    if (!order) return input("Couldn't find that `order_id`.");
    if (order.variety !== variety) return input("Invalid `variety`.");
    if (!LIVE.has(order.status)) return { status: 400, error_type: "OrderException", message: `Order cannot be cancelled as it is ${order.status}.` };
    this.snapshot(order, "CANCEL PENDING");
    order.cancelled = order.quantity - order.filled;
    order.status_message = null;
    this.snapshot(order, "CANCELLED");
    return { order_id: id };
  }

  /** Fills part or all of a live order at a price (paise): one trade. */
  fill(id: string, quantity: number, price: number): BookTrade {
    const order = this.orders.get(id);
    if (!order) throw new Error(`fake kite: no order ${id}`);
    if (!LIVE.has(order.status) && order.status !== "OPEN PENDING") throw new Error(`fake kite: order ${id} is ${order.status}, not live`);
    if (quantity <= 0 || order.filled + quantity > order.quantity) throw new Error(`fake kite: cannot fill ${quantity} of ${id} (filled ${order.filled}/${order.quantity})`);
    const at = kiteTime(this.o.now());
    const trade = { trade_id: String(10_000_000 + ++this.tradeSeq), order_id: id, quantity, price, at };
    order.trades.push(trade);
    order.filled += quantity;
    order.exchange_timestamp = at;
    // A triggered stop that fills in part is an open order like any other.
    this.snapshot(order, order.filled === order.quantity ? "COMPLETE" : "OPEN");
    return trade;
  }

  /** Kite's JSON for an order in its current state. */
  json(order: BookOrder): Record<string, unknown> {
    const value = order.trades.reduce((s, t) => s + t.quantity * t.price, 0);
    return {
      placed_by: this.o.userId,
      order_id: order.order_id,
      exchange_order_id: order.exchange_order_id,
      parent_order_id: null,
      status: order.status,
      status_message: order.status_message,
      status_message_raw: order.status_message,
      order_timestamp: order.order_timestamp,
      exchange_update_timestamp: order.exchange_timestamp,
      exchange_timestamp: order.exchange_timestamp,
      variety: order.variety,
      modified: order.history.some((h) => h.status === "MODIFIED"),
      exchange: order.exchange,
      tradingsymbol: order.tradingsymbol,
      instrument_token: order.instrument_token,
      order_type: order.order_type,
      transaction_type: order.transaction_type,
      validity: order.validity,
      product: order.product,
      quantity: order.quantity,
      disclosed_quantity: order.disclosed_quantity,
      price: rupees(order.price),
      trigger_price: rupees(order.trigger_price),
      // As Kite: a float average, which may fall between paise.
      average_price: order.filled ? value / order.filled / 100 : 0,
      filled_quantity: order.filled,
      pending_quantity: order.status === "CANCELLED" || order.status === "REJECTED" ? 0 : order.quantity - order.filled,
      cancelled_quantity: order.cancelled,
      market_protection: 0,
      meta: {},
      tag: order.tag,
      tags: order.tag ? [order.tag] : [],
      guid: `fake-${order.order_id}`,
    };
  }

  tradeJson(order: BookOrder, t: BookTrade): Record<string, unknown> {
    return {
      trade_id: t.trade_id,
      order_id: order.order_id,
      exchange_order_id: order.exchange_order_id,
      tradingsymbol: order.tradingsymbol,
      exchange: order.exchange,
      instrument_token: order.instrument_token,
      product: order.product,
      average_price: rupees(t.price),
      quantity: t.quantity,
      fill_timestamp: t.at,
      order_timestamp: t.at,
      exchange_timestamp: t.at,
      transaction_type: order.transaction_type,
    };
  }

  trades(orderId?: string): Record<string, unknown>[] {
    const orders = orderId === undefined ? [...this.orders.values()] : [this.orders.get(orderId)].filter((o) => o !== undefined);
    return orders.flatMap((o) => o.trades.map((t) => this.tradeJson(o, t)));
  }

  /** Net positions from the trades, in Kite's shape (the fake's day positions are the same). */
  positions(): Record<string, unknown>[] {
    const acc = new Map<string, { o: BookOrder; bq: number; bv: number; sq: number; sv: number }>();
    for (const o of this.orders.values()) {
      for (const t of o.trades) {
        const key = `${o.exchange}:${o.tradingsymbol}:${o.product}`;
        const a = acc.get(key) ?? { o, bq: 0, bv: 0, sq: 0, sv: 0 };
        if (o.transaction_type === "BUY") (a.bq += t.quantity), (a.bv += t.quantity * t.price);
        else (a.sq += t.quantity), (a.sv += t.quantity * t.price);
        acc.set(key, a);
      }
    }
    return [...acc.values()].map(({ o, bq, bv, sq, sv }) => {
      const qty = bq - sq;
      const last = this.o.lastPrice(o.exchange, o.tradingsymbol);
      const value = sv - bv;
      const pnl = value + qty * last;
      return {
        tradingsymbol: o.tradingsymbol,
        exchange: o.exchange,
        instrument_token: o.instrument_token,
        product: o.product,
        quantity: qty,
        overnight_quantity: 0,
        multiplier: 1,
        average_price: qty > 0 ? bv / bq / 100 : qty < 0 ? sv / sq / 100 : 0,
        close_price: rupees(last),
        last_price: rupees(last),
        value: rupees(value),
        pnl: rupees(pnl),
        m2m: rupees(pnl),
        unrealised: rupees(pnl),
        realised: 0,
        buy_quantity: bq,
        buy_price: bq ? bv / bq / 100 : 0,
        buy_value: rupees(bv),
        buy_m2m: rupees(bv),
        sell_quantity: sq,
        sell_price: sq ? sv / sq / 100 : 0,
        sell_value: rupees(sv),
        sell_m2m: rupees(sv),
        day_buy_quantity: bq,
        day_buy_price: bq ? bv / bq / 100 : 0,
        day_buy_value: rupees(bv),
        day_sell_quantity: sq,
        day_sell_price: sq ? sv / sq / 100 : 0,
        day_sell_value: rupees(sv),
      };
    });
  }

  private snapshot(order: BookOrder, status: string): void {
    order.status = status;
    order.history.push(this.json(order));
  }
}
