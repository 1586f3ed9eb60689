/**
 * An alert becomes ordinary orders: `services.orders.place` (the outbox path), under the
 * webhook's strategy and broker, so risk, the kill switch, the ledger, the desk and the API see
 * them. A TradingView alert is one order (`quantity`), or, with `position_size`, the order that
 * moves the strategy's net position in the instrument to that target (none when it is there:
 * OpenAlgo's smart order); a rule's trading_mode reads it as OpenAlgo's strategy modes do.
 * A ChartInk alert is one order per stock, by the webhook's rule. The position a target is
 * measured from is the portfolio's (filled quantities): an order still in flight is not in it,
 * as with OpenAlgo's smart order, so two targets sent at once may both act.
 */
import type { Problem } from "../../src/errors.ts";
import type { Instrument } from "../../src/market/instruments.ts";
import { PRICES_NEEDED, type OrderType, type Side } from "../../src/orders/vocabulary.ts";
import { ApiError, invalid } from "../api/errors.ts";
import { offGrid, offLot } from "../api/lookups.ts";
import type { Reply } from "../api/route.ts";
import type { OrderView, PlaceOrder, Services } from "../api/services.ts";
import { orderJson } from "../api/views.ts";
import { clientOrderId } from "./alert-key.ts";
import { symbolIndex, type SymbolIndex } from "../../src/market/openalgo-symbols.ts";
import type { ChartInkAlert, TradingViewAlert } from "./payloads.ts";
import type { Rule } from "./rule.ts";

/** OpenAlgo's names per instrument list (the master does not change while a process runs). */
const indexes = new WeakMap<readonly Instrument[], SymbolIndex>();

/** The instrument an alert names: by OpenAlgo's symbol (its strategy webhooks send those), else by the master's own. */
function instrumentOf(services: Services, exchange: string, symbol: string): Instrument | undefined {
  const list = services.instruments.list();
  let index = indexes.get(list);
  if (!index) indexes.set(list, (index = symbolIndex(list)));
  return index.resolve(exchange, symbol) ?? services.instruments.bySymbol(exchange, symbol);
}

/** The webhook an alert came through, and what identifies the alert (alert-key.ts). */
export interface AlertContext {
  webhookId: string;
  strategyId: string;
  rule: Rule;
  alertKey: string;
}

/**
 * The order that takes a net position from `current` to `target`; undefined when it is there.
 *
 * @example
 * towardTarget(100, -100); // { side: "SELL", quantity: 200 }
 */
export function towardTarget(current: number, target: number): { side: Side; quantity: number } | undefined {
  if (current === target) return undefined;
  return target > current ? { side: "BUY", quantity: target - current } : { side: "SELL", quantity: current - target };
}

/** "NSE:SBIN" as TradingView's {{exchange}}:{{ticker}} writes it → its exchange and symbol. */
export function splitSymbol(symbol: string, exchange: string | undefined, fallback: string): { exchange: string; symbol: string } {
  const at = symbol.indexOf(":");
  if (at > 0 && exchange === undefined) return { exchange: symbol.slice(0, at).toUpperCase(), symbol: symbol.slice(at + 1).toUpperCase() };
  return { exchange: exchange ?? fallback, symbol: symbol.toUpperCase() };
}

/** The strategy's net quantity in an instrument on the webhook's broker, from the portfolio. */
async function netPosition(services: Services, ctx: AlertContext, token: number): Promise<number> {
  const portfolio = await services.portfolios.get(ctx.rule.broker);
  return portfolio.positions.find((p) => p.strategy_id === ctx.strategyId && p.instrument_token === token)?.quantity ?? 0;
}

interface Placed {
  order: OrderView;
  created: boolean;
  symbol: string;
  exchange: string;
  /** ChartInk's price at the trigger, shown beside its order (the orders are MARKET, as OpenAlgo places them). */
  triggerPriceAtAlert?: string;
}

async function place(services: Services, ctx: AlertContext, instrument: Instrument, index: number, order: Omit<PlaceOrder, "broker" | "instrument_token" | "strategy_id" | "client_order_id">): Promise<Placed> {
  const cmd: PlaceOrder = { ...order, broker: ctx.rule.broker, instrument_token: instrument.instrument_token, strategy_id: ctx.strategyId, client_order_id: clientOrderId(ctx.webhookId, ctx.alertKey, index) };
  const { order: placed, created } = await services.orders.place(cmd);
  // The same key for another order: an alert id reused for a different signal.
  if (!created && (placed.instrument_token !== cmd.instrument_token || placed.side !== cmd.side)) {
    throw new ApiError("CONFLICT", `this alert's id was used before for another order (${placed.order_id}): give each alert its own id`, { details: { order_id: placed.order_id } });
  }
  return { order: placed, created, symbol: instrument.tradingsymbol, exchange: instrument.exchange };
}

const orderOut = (p: Placed) => ({
  ...orderJson(p.order),
  symbol: p.symbol,
  exchange: p.exchange,
  replayed: !p.created,
  ...(p.triggerPriceAtAlert !== undefined ? { trigger_price_at_alert: p.triggerPriceAtAlert } : {}),
});

function reply(ctx: AlertContext, kind: "tradingview" | "chartink", placed: Placed[], message: string, extra: Record<string, unknown> = {}): Reply {
  const created = placed.some((p) => p.created);
  return {
    status: created ? 202 : 200,
    body: { status: "success", alert: kind, webhook_id: ctx.webhookId, strategy_id: ctx.strategyId, broker: ctx.rule.broker, message, orders: placed.map(orderOut), ...extra },
  };
}

const replayed = (placed: Placed[]) => placed.length > 0 && placed.every((p) => !p.created);
const REPLAY = "a replay of an alert already taken: its orders, unchanged";

/**
 * What a TradingView alert asks for: a position to reach, or a side and quantity; by the rule's
 * trading_mode (OpenAlgo's strategy modes), else by position_size when the alert gives one.
 */
function tradingViewIntent(alert: TradingViewAlert, rule: Rule, problems: Problem[]): { target: number } | { side: Side; quantity?: number } {
  const ps = alert.position_size;
  if (rule.trading_mode === "BOTH") {
    if (ps === undefined) problems.push({ path: "position_size", message: "position_size: is required (the webhook's trading_mode is BOTH)" });
    else if (alert.action === "BUY" && ps < 0) problems.push({ path: "position_size", message: "position_size: must be 0 or more with action BUY (trading_mode BOTH)" });
    else if (alert.action === "SELL" && ps > 0) problems.push({ path: "position_size", message: "position_size: must be 0 or less with action SELL (trading_mode BOTH)" });
    return { target: ps ?? 0 };
  }
  if ((rule.trading_mode === "LONG" && alert.action === "SELL") || (rule.trading_mode === "SHORT" && alert.action === "BUY")) return { target: 0 };
  // An entry in LONG or SHORT mode: OpenAlgo's quantity, |position_size| when it is not 0.
  if (rule.trading_mode !== undefined) return { side: alert.action, quantity: ps ? Math.abs(ps) : (alert.quantity ?? rule.quantity) };
  // As OpenAlgo's smart order: the action is a hint, the target decides (SELL to 50 from 200 sells 150).
  if (ps !== undefined) return { target: ps };
  return { side: alert.action, quantity: alert.quantity ?? rule.quantity };
}

/**
 * @example
 * const answer = await tradingView(services, ctx, alert); // 202 { orders: [ … ] }
 */
export async function tradingView(services: Services, ctx: AlertContext, alert: TradingViewAlert): Promise<Reply> {
  const where = splitSymbol(alert.symbol, alert.exchange, ctx.rule.exchange);
  const instrument = instrumentOf(services, where.exchange, where.symbol);
  if (!instrument) throw invalid([{ path: "symbol", message: `symbol: no instrument ${where.symbol} on ${where.exchange}` }], "alert");

  const orderType: OrderType = alert.pricetype ?? "MARKET";
  const needed = PRICES_NEEDED[orderType];
  const problems: Problem[] = [];
  // A price the type does not take is ignored, as OpenAlgo does ("price": "{{close}}" on a MARKET alert).
  const price = needed.price ? alert.price : undefined;
  const trigger = needed.trigger_price ? alert.trigger_price : undefined;
  for (const [field, value] of [["price", price], ["trigger_price", trigger]] as const) {
    if ((field === "price" ? needed.price : needed.trigger_price) && !value) problems.push({ path: field, message: `${field}: is required above 0 for ${orderType} orders` });
  }
  problems.push(...offGrid(instrument, "price", price || undefined), ...offGrid(instrument, "trigger_price", trigger || undefined));

  const intent = tradingViewIntent(alert, ctx.rule, problems);
  let step: { side: Side; quantity: number } | undefined;
  let position: Record<string, unknown> | undefined;
  if ("target" in intent) {
    if (problems.length > 0) throw invalid(problems, "alert");
    const current = await netPosition(services, ctx, instrument.instrument_token);
    step = towardTarget(current, intent.target);
    position = { current, target: intent.target, ...(step ? { side: step.side, quantity: step.quantity } : {}) };
    if (step) problems.push(...offLot(instrument, "position_size", step.quantity));
  } else {
    const { quantity } = intent;
    if (quantity === undefined) problems.push({ path: "quantity", message: "quantity: is required (the webhook's rule sets none)" });
    else if (quantity <= 0) problems.push({ path: "quantity", message: "quantity: must be above 0 (or send position_size)" });
    else problems.push(...offLot(instrument, "quantity", quantity));
    step = quantity ? { side: intent.side, quantity } : undefined;
  }
  if (problems.length > 0) throw invalid(problems, "alert");
  if (!step) return reply(ctx, "tradingview", [], `already at target: the position in ${instrument.tradingsymbol} is ${position?.target}`, { position });

  const placed = await place(services, ctx, instrument, 0, {
    side: step.side,
    quantity: step.quantity,
    order_type: orderType,
    product: alert.product ?? ctx.rule.product,
    ...(price ? { price } : {}),
    ...(trigger ? { trigger_price: trigger } : {}),
  });
  if (!placed.created && !("target" in intent) && placed.order.quantity !== step.quantity) {
    throw new ApiError("CONFLICT", `this alert's id was used before for another order (${placed.order.order_id}): give each alert its own id`, { details: { order_id: placed.order.order_id } });
  }
  const message = replayed([placed]) ? REPLAY : `${step.side} ${step.quantity} ${instrument.tradingsymbol} placed`;
  return reply(ctx, "tradingview", [placed], message, position ? { position } : {});
}

/** What a ChartInk alert asks of each stock: a side and the rule's quantity, or to go flat. */
type StockAction = { side: Side } | { flatten: true };

/** OpenAlgo's scan-name keywords, in its order: BUY, SELL (exit long), SHORT, COVER (exit short). */
function chartInkAction(ctx: AlertContext, alert: ChartInkAlert): StockAction {
  if (ctx.rule.chartink_action !== "scan_name") return { side: ctx.rule.chartink_action };
  const name = (alert.scan_name ?? "").toUpperCase();
  if (name.includes("BUY")) return { side: "BUY" };
  if (name.includes("SELL")) return { flatten: true };
  if (name.includes("SHORT")) return { side: "SELL" };
  if (name.includes("COVER")) return { flatten: true };
  throw invalid([{ path: "scan_name", message: `scan_name: holds none of BUY, SELL, SHORT, COVER, which say what to do (the webhook's rule reads the side from the scan name)` }], "alert");
}

/**
 * @example
 * const answer = await chartInk(services, ctx, alert); // 202 { orders: [ one per stock ], skipped: [] }
 */
export async function chartInk(services: Services, ctx: AlertContext, alert: ChartInkAlert): Promise<Reply> {
  const action = chartInkAction(ctx, alert);
  const quantity = ctx.rule.quantity;
  if ("side" in action && quantity === undefined) {
    throw invalid([{ path: "quantity", message: "quantity: the webhook's rule sets none, and a ChartInk alert takes its quantity from the rule: make a webhook with one" }], "alert");
  }
  const skipped: Array<{ symbol: string; reason: string }> = [];
  const wanted: Array<{ index: number; instrument: Instrument; side: Side; quantity: number; trigger_price?: string }> = [];
  const positions = "flatten" in action ? (await services.portfolios.get(ctx.rule.broker)).positions : [];
  alert.stocks.forEach((stock, index) => {
    const where = splitSymbol(stock, undefined, ctx.rule.exchange);
    const instrument = instrumentOf(services, where.exchange, where.symbol);
    if (!instrument) return skipped.push({ symbol: stock, reason: `no instrument ${where.symbol} on ${where.exchange}` });
    const trigger = alert.trigger_prices?.[index];
    if ("side" in action) {
      if (quantity! % instrument.lot_size !== 0) return skipped.push({ symbol: stock, reason: `the rule's quantity ${quantity} is not a multiple of the lot size ${instrument.lot_size}` });
      return wanted.push({ index, instrument, side: action.side, quantity: quantity!, trigger_price: trigger });
    }
    const current = positions.find((p) => p.strategy_id === ctx.strategyId && p.instrument_token === instrument.instrument_token)?.quantity ?? 0;
    const step = towardTarget(current, 0);
    if (!step) return skipped.push({ symbol: stock, reason: "already flat" });
    return wanted.push({ index, instrument, ...step, trigger_price: trigger });
  });
  if (wanted.length === 0 && skipped.every((s) => s.reason.startsWith("no instrument"))) {
    throw invalid([{ path: "stocks", message: `stocks: none is an instrument we know (${skipped.map((s) => s.symbol).slice(0, 10).join(", ")})` }], "alert");
  }
  const placed: Placed[] = [];
  for (const w of wanted) {
    const one = await place(services, ctx, w.instrument, w.index, { side: w.side, quantity: w.quantity, order_type: "MARKET", product: ctx.rule.product });
    placed.push({ ...one, triggerPriceAtAlert: w.trigger_price });
  }
  const message = placed.length === 0 ? "nothing to do: every stock is already flat" : replayed(placed) ? REPLAY : `${placed.length} order${placed.length === 1 ? "" : "s"} placed`;
  return reply(ctx, "chartink", placed, message, { skipped });
}
