/**
 * The alert bodies a webhook takes, field for field as OpenAlgo's strategy webhooks read them:
 * TradingView's (OpenAlgo's strategy-webhook form: symbol, action, quantity, position_size, and
 * placeorder's exchange, product, pricetype, price, trigger_price) and ChartInk's scan alert
 * (stocks, trigger_prices, triggered_at, scan_name, scan_url, alert_name, webhook_url). Numbers
 * come as JSON numbers or strings, as those tools send them; words in any case. Fields these
 * tools add that we do not read (OpenAlgo's apikey, strategy, a comment) are dropped unread.
 */
import { z } from "zod";
import { toPaise, type Paise } from "../../src/money.ts";
import { ORDER_TYPES, PRODUCTS, SIDES } from "../../src/orders/vocabulary.ts";
import { EXCHANGE } from "./rule.ts";

/** ChartInk stocks in one alert at most: a bigger scan is refused, not cut. */
export const MAX_STOCKS = 100;
/** The largest alert body, in bytes. */
export const MAX_ALERT_BYTES = 16 * 1024;
/** Top-level fields in one alert at most (the tools send about ten). */
export const MAX_ALERT_FIELDS = 100;

const upper = (v: unknown) => (typeof v === "string" ? v.trim().toUpperCase() : v);
const word = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess(upper, z.enum(values, { error: (i) => `must be one of ${values.join(", ")}, got ${JSON.stringify(i.input)?.slice(0, 40)}` }));

/** A whole number as a JSON number or a string of digits ("10", and "10.0" as TradingView may write it). */
const whole = (signed: boolean) =>
  z.union([z.number(), z.string().max(24)], { error: "must be a whole number" }).transform((v, ctx) => {
    const text = typeof v === "number" ? String(v) : v.trim();
    const m = (signed ? /^[+-]?\d{1,9}(?:\.0+)?$/ : /^\+?\d{1,9}(?:\.0+)?$/).exec(text);
    if (!m) {
      ctx.addIssue({ code: "custom", message: `must be a whole number${signed ? "" : " of 0 or more"}, got ${JSON.stringify(v).slice(0, 40)}` });
      return z.NEVER;
    }
    return Math.trunc(Number(text)) || 0;
  });

/** Rupees as a JSON number or a string ("2451.35"): exact paise, anything finer than a paisa refused. */
const rupees = z.union([z.number(), z.string().max(24)], { error: "must be an amount in rupees" }).transform((v, ctx): Paise => {
  const text = typeof v === "number" ? String(v) : v.trim();
  try {
    const paise = toPaise(text);
    if (paise < 0) throw new Error("negative");
    return paise;
  } catch {
    ctx.addIssue({ code: "custom", message: `must be rupees of 0 or more with at most 2 decimals, got ${JSON.stringify(v).slice(0, 40)}` });
    return z.NEVER;
  }
});

/** An alert's own id, when the tool sends one: the same id again is the same alert. */
const alertId = z.union([z.string().trim().min(1).max(200), z.number()]).transform(String);

const text = (max: number) => z.string().max(max, `is longer than ${max} characters`);

export const tradingViewAlert = z.object({
  symbol: text(64).trim().min(1, "must not be empty"),
  action: word(SIDES),
  exchange: z.preprocess(upper, z.string().regex(EXCHANGE, "must be an exchange such as NSE, BSE, NFO")).optional(),
  product: word(PRODUCTS).optional(),
  pricetype: word(ORDER_TYPES).optional(),
  quantity: whole(false).optional(),
  position_size: whole(true).optional(),
  price: rupees.optional(),
  trigger_price: rupees.optional(),
  id: alertId.optional(),
  alert_id: alertId.optional(),
});
export type TradingViewAlert = z.output<typeof tradingViewAlert>;

const commaList = (max: number) => text(max * 40).transform((s) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0));

export const chartInkAlert = z
  .object({
    stocks: commaList(MAX_STOCKS)
      .refine((s) => s.length > 0, "must name at least one stock")
      .refine((s) => s.length <= MAX_STOCKS, `names more than ${MAX_STOCKS} stocks`)
      .refine((s) => s.every((x) => x.length <= 64), "holds a symbol longer than 64 characters"),
    trigger_prices: commaList(MAX_STOCKS).optional(),
    triggered_at: text(64).optional(),
    scan_name: text(200).optional(),
    scan_url: text(500).optional(),
    alert_name: text(200).optional(),
    webhook_url: text(2000).optional(),
    id: alertId.optional(),
    alert_id: alertId.optional(),
  })
  .superRefine((alert, ctx) => {
    if (alert.trigger_prices === undefined) return;
    if (alert.trigger_prices.length !== alert.stocks.length) {
      ctx.addIssue({ code: "custom", path: ["trigger_prices"], message: `has ${alert.trigger_prices.length} prices for ${alert.stocks.length} stocks` });
    }
    const bad = alert.trigger_prices.findIndex((p) => !/^\d{1,13}(?:\.\d{1,4})?$/.test(p));
    if (bad >= 0) ctx.addIssue({ code: "custom", path: ["trigger_prices"], message: `holds ${JSON.stringify(alert.trigger_prices[bad]!.slice(0, 40))}, not a price` });
  });
export type ChartInkAlert = z.output<typeof chartInkAlert>;

export type Alert = { kind: "tradingview"; alert: TradingViewAlert } | { kind: "chartink"; alert: ChartInkAlert };
