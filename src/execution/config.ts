/**
 * The paper exchange's settings: the fee schedule and the fill model, validated once with zod.
 * Every problem is reported at once in one {@link ConfigError}.
 */
import { z } from "zod";
import { ConfigError } from "../errors.ts";

/**
 * Fee rates are integers in units of 1e-8 of the traded value (a millionth of a percent), so the
 * smallest statutory rate (SEBI's ₹10 per crore = 1e-6) is still a whole number: 0.03% = 30_000.
 */
export const RATE_SCALE = 100_000_000;

const rate = z.number().int().nonnegative().max(RATE_SCALE);

/** Defaults: Zerodha's equity intraday (MIS) charges on NSE. */
export const feeScheduleSchema = z.object({
  /** 0.03% of turnover… */
  brokerage_rate: rate.default(30_000),
  /** …or ₹20 per executed order, whichever is lower (paise). */
  brokerage_cap: z.number().int().nonnegative().default(2_000),
  /** Securities transaction tax: intraday pays it on the sell side only (0.025%). */
  stt_buy_rate: rate.default(0),
  stt_sell_rate: rate.default(25_000),
  /** NSE transaction charge, 0.00297%. */
  exchange_rate: rate.default(2_970),
  /** SEBI turnover fee, ₹10 per crore = 0.0001%. */
  sebi_rate: rate.default(100),
  /** Stamp duty: buy side only for intraday (0.003%). */
  stamp_buy_rate: rate.default(3_000),
  stamp_sell_rate: rate.default(0),
  /** GST 18%, on brokerage + exchange charge + SEBI fee. */
  gst_rate: rate.default(18_000_000),
});

export type FeeSchedule = z.output<typeof feeScheduleSchema>;

export const exchangeConfigSchema = z.object({
  fees: feeScheduleSchema.default(feeScheduleSchema.parse({})),
  /**
   * Adverse slippage on market fills, basis points of the last price. A paper broker that fills
   * exactly at the last trade flatters every strategy; 2 bps is a mild, honest default.
   */
  slippage_bps: z.number().int().nonnegative().max(1_000).default(2),
  /**
   * When true, a tick's last_quantity is the liquidity our orders may take at that tick (shared
   * in arrival order); the rest of an order waits for later ticks. When false, fills are whole.
   */
  partial_fills: z.boolean().default(false),
  /**
   * A stop whose trigger is already crossed when it arrives: Kite rejects it, so by default the
   * simulator does too ("reject"); "trigger" fires it at once instead.
   */
  stop_already_triggered: z.enum(["reject", "trigger"]).default("reject"),
  /** How many closed orders are remembered, to tell ORDER_NOT_OPEN from UNKNOWN_ORDER. */
  closed_order_memory: z.number().int().nonnegative().max(100_000).default(1_000),
});

export type ExchangeConfig = z.output<typeof exchangeConfigSchema>;
export type ExchangeConfigInput = z.input<typeof exchangeConfigSchema>;

/**
 * Validates exchange settings, filling in defaults.
 *
 * @example
 * const config = parseExchangeConfig({ slippage_bps: 5, fees: { brokerage_cap: 0 } });
 */
export function parseExchangeConfig(input: ExchangeConfigInput | unknown = {}): ExchangeConfig {
  const parsed = exchangeConfigSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  throw new ConfigError(parsed.error.issues.map((i) => ({ path: ["execution", ...i.path.map(String)].join("."), message: i.message })));
}

/**
 * Validates a fee schedule, filling in the Zerodha-intraday defaults.
 *
 * @example
 * const schedule = parseFeeSchedule({ stt_buy_rate: 100_000, stt_sell_rate: 100_000 }); // delivery STT
 */
export function parseFeeSchedule(input: z.input<typeof feeScheduleSchema> | unknown = {}): FeeSchedule {
  return parseExchangeConfig({ fees: input ?? {} }).fees;
}

/** The default fee schedule (Zerodha equity intraday, NSE). */
export const DEFAULT_FEE_SCHEDULE: FeeSchedule = feeScheduleSchema.parse({});
