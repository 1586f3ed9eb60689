/**
 * A webhook's rule: how its alerts become orders. Stored with the webhook (strategy_webhooks.rule)
 * as given; the defaults are applied when an alert is read, so a stored rule says only what its
 * maker chose.
 */
import { z } from "zod";
import { BROKERS, type Broker } from "../../src/config.ts";
import { PRODUCTS, type Product } from "../../src/orders/vocabulary.ts";

/** ChartInk's side: always BUY, always SELL, or OpenAlgo's keywords in the scan name. */
export const CHARTINK_ACTIONS = ["BUY", "SELL", "scan_name"] as const;
export type ChartInkAction = (typeof CHARTINK_ACTIONS)[number];

/** OpenAlgo's strategy modes for TradingView alerts: LONG (BUY enters, SELL exits to flat), SHORT (SELL enters, BUY exits), BOTH (position_size is the target). */
export const TRADING_MODES = ["LONG", "SHORT", "BOTH"] as const;
export type TradingMode = (typeof TRADING_MODES)[number];

export const EXCHANGE = /^[A-Z]{2,8}$/;

export const webhookRule = z
  .strictObject({
    broker: z.enum(BROKERS).optional().meta({ description: 'Which broker the orders go to: one of the strategy\'s brokers, and active. Default "paper".' }),
    exchange: z.string().regex(EXCHANGE, "must be an exchange such as NSE, BSE, NFO").optional().meta({ description: 'Where symbols are looked up when an alert names no exchange. Default "NSE".' }),
    product: z.enum(PRODUCTS).optional().meta({ description: 'The product when an alert names none. Default "MIS".' }),
    quantity: z
      .number()
      .int("must be a whole number")
      .positive("must be above 0")
      .max(10_000_000, "is too large")
      .optional()
      .meta({ description: "The quantity of each ChartInk order, and of a TradingView alert that gives none." }),
    chartink_action: z
      .enum(CHARTINK_ACTIONS)
      .optional()
      .meta({
        description:
          'ChartInk\'s side: BUY or SELL for every stock, or "scan_name" (the default, OpenAlgo\'s convention): a scan name holding BUY buys `quantity`, SHORT sells `quantity`, SELL and COVER take the strategy\'s position in the stock to flat.',
      }),
    trading_mode: z
      .enum(TRADING_MODES)
      .optional()
      .meta({
        description:
          "OpenAlgo's strategy mode for TradingView alerts. Unset: BUY and SELL trade `quantity`, or go to `position_size` when given. LONG: BUY enters (|position_size|, else quantity), SELL takes the position to flat. SHORT: SELL enters, BUY takes it to flat. BOTH: position_size is required and is the target (BUY with one below 0, or SELL with one above 0, is refused).",
      }),
  })
  .meta({ description: "How the webhook's alerts become orders; every field is optional." });

export type WebhookRule = z.output<typeof webhookRule>;

/** A rule with its defaults applied. */
export interface Rule {
  broker: Broker;
  exchange: string;
  product: Product;
  quantity?: number;
  chartink_action: ChartInkAction;
  trading_mode?: TradingMode;
}

/**
 * The rule an alert is read with: the stored one, defaults filled in.
 *
 * @example
 * withDefaults({ quantity: 5 }); // { broker: "paper", exchange: "NSE", product: "MIS", quantity: 5, chartink_action: "scan_name" }
 */
export function withDefaults(rule: WebhookRule): Rule {
  return {
    broker: rule.broker ?? "paper",
    exchange: rule.exchange ?? "NSE",
    product: rule.product ?? "MIS",
    ...(rule.quantity !== undefined ? { quantity: rule.quantity } : {}),
    chartink_action: rule.chartink_action ?? "scan_name",
    ...(rule.trading_mode !== undefined ? { trading_mode: rule.trading_mode } : {}),
  };
}
