/**
 * The zod schemas of the API: what requests must look like (these validate them) and what
 * responses look like (these document them, and the tests check responses against them). The
 * OpenAPI document is generated from exactly these.
 *
 * Money comes in and goes out as decimal strings in rupees ("2451.35"), never as JSON numbers: a
 * JSON number is a binary float to most clients, and 0.1 + 0.2 is not 0.3. A number where money
 * is expected is refused with a message saying so.
 */
import { z } from "zod";
import { BROKERS } from "../../src/config.ts";
import { ISO, ISO_OFFSET, toIsoMs } from "../../src/events/iso.ts";
import { toPaise } from "../../src/money.ts";
import { STRATEGY_KINDS, STRATEGY_PARAMS } from "../../src/strategies/index.ts";
import type { OrderStatus, OrderType, Product, Side, TradingState } from "./services.ts";

export const SIDES = ["BUY", "SELL"] as const satisfies readonly Side[];
export const ORDER_TYPES = ["MARKET", "LIMIT", "SL", "SL-M"] as const satisfies readonly OrderType[];
export const PRODUCTS = ["MIS", "CNC", "NRML"] as const satisfies readonly Product[];
export const ORDER_STATUSES = ["PENDING", "OPEN", "PARTIALLY_FILLED", "FILLED", "REJECTED", "CANCELLED", "FAILED"] as const satisfies readonly OrderStatus[];
export const TRADING_STATES = ["ACTIVE", "REDUCING", "HALTED"] as const satisfies readonly TradingState[];

// ---------------------------------------------------------------- building blocks

const RUPEES = /^\d{1,13}(\.\d{1,2})?$/;
/** RUPEES above zero, without leading zeros: a pattern the OpenAPI document can state (no lookahead). */
const POSITIVE_RUPEES = /^(?:[1-9]\d{0,12}(?:\.\d{1,2})?|0\.(?:[1-9]\d?|0[1-9]))$/;

const rupeesString = z
  .string({
    error: (i) => (typeof i.input === "number" ? `must be a decimal string such as "2451.35", not a JSON number` : undefined),
  })
  .regex(RUPEES, `must be rupees with at most 2 decimals, such as "2451.35"`);

/** A price in rupees, above zero, as paise. */
export const priceIn = z
  .string({
    error: (i) => (typeof i.input === "number" ? `must be a decimal string such as "2451.35", not a JSON number` : undefined),
  })
  .regex(POSITIVE_RUPEES, `must be rupees above 0 with at most 2 decimals and no leading zeros, such as "2451.35"`)
  .transform(toPaise)
  .refine((p) => p > 0, "must be above 0")
  .meta({ description: 'Rupees as a decimal string, at most 2 decimals, e.g. "2451.35"; on the instrument\'s tick grid.' });

/** An amount in rupees, zero or more, as paise. */
export const amountIn = rupeesString.transform(toPaise).meta({ description: 'Rupees as a decimal string, e.g. "50000.00".' });

/** Money in a response: rupees, exactly 2 decimals, maybe negative. */
export const moneyOut = z.string().regex(/^-?\d+\.\d{2}$/).meta({ description: 'Rupees as a decimal string, e.g. "2451.35" or "-12.50".' });

export const instrumentToken = z.number().int("must be an integer").positive("must be a positive instrument token").max(2 ** 32 - 1, "is not an instrument token");

/**
 * A broker in a path: one of ACTIVE_BROKERS (another is a 404).
 *
 * @example
 * route({ path: "/risk/:broker/limits", params: { broker: brokerParam(services) }, … });
 */
export const brokerParam = (s: { activeBrokers: readonly string[] }) =>
  z.enum(s.activeBrokers as [string, ...string[]]).meta({ description: "One of ACTIVE_BROKERS." });

/** Brokers are checked against ACTIVE_BROKERS by the route: one that is not running is a 404. */
export const brokerName = z.string().min(1).max(32).meta({ description: `A broker namespace (${BROKERS.join(" | ")}), one of ACTIVE_BROKERS.` });

export const STRATEGY_ID = /^[a-z][a-z0-9_]{0,62}$/;
const strategyId = z.string().regex(STRATEGY_ID, "must be lower case letters, digits and _, starting with a letter, at most 63 characters");

const count = z.number().int("must be a whole number").min(0, "must not be negative").max(Number.MAX_SAFE_INTEGER, "is too large");

/** A page size query parameter, 1 to 500 (query strings are text; the pattern states the range). */
const limitParam = z
  .string()
  .regex(/^(?:[1-9]\d?|[1-4]\d\d|500)$/, "must be an integer from 1 to 500")
  .transform(Number);

// ---------------------------------------------------------------- orders

const priceRules: Record<(typeof ORDER_TYPES)[number], { price: boolean; trigger_price: boolean }> = {
  MARKET: { price: false, trigger_price: false },
  LIMIT: { price: true, trigger_price: false },
  SL: { price: true, trigger_price: true },
  "SL-M": { price: false, trigger_price: true },
};

export const placeOrderBody = z
  .strictObject({
    broker: brokerName,
    instrument_token: instrumentToken.optional(),
    exchange: z.string().min(1).max(16).optional().meta({ description: "With symbol, instead of instrument_token." }),
    symbol: z.string().min(1).max(64).optional().meta({ description: "Trading symbol, e.g. RELIANCE; with exchange." }),
    side: z.enum(SIDES),
    quantity: z.number().int("must be a whole number").positive("must be above 0").max(10_000_000, "is too large").meta({ description: "A multiple of the instrument's lot size." }),
    order_type: z.enum(ORDER_TYPES),
    price: priceIn.optional().meta({ description: "Rupees as a decimal string. LIMIT and SL need it; MARKET and SL-M refuse it." }),
    trigger_price: priceIn.optional().meta({ description: "Rupees as a decimal string. SL and SL-M need it; the others refuse it." }),
    product: z.enum(PRODUCTS).optional(),
    strategy_id: strategyId.optional().meta({ description: 'Defaults to "manual".' }),
    client_order_id: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, "must be 1 to 64 letters, digits or _ . : -")
      .optional()
      .meta({ description: "Idempotency key: placing again with the same one returns the first order (200), never a second." }),
  })
  .superRefine((o, ctx) => {
    const named = o.exchange !== undefined || o.symbol !== undefined;
    if (o.instrument_token === undefined && !named) {
      ctx.addIssue({ code: "custom", path: ["instrument_token"], message: "is required (or exchange and symbol)" });
    } else if (o.instrument_token !== undefined && named) {
      ctx.addIssue({ code: "custom", path: ["instrument_token"], message: "give instrument_token or exchange and symbol, not both" });
    } else if (named) {
      for (const f of ["exchange", "symbol"] as const) {
        if (o[f] === undefined) ctx.addIssue({ code: "custom", path: [f], message: `is required with ${f === "exchange" ? "symbol" : "exchange"}` });
      }
    }
    const rule = priceRules[o.order_type];
    for (const f of ["price", "trigger_price"] as const) {
      if (rule[f] && o[f] === undefined) ctx.addIssue({ code: "custom", path: [f], message: `is required for ${o.order_type} orders` });
      if (!rule[f] && o[f] !== undefined) ctx.addIssue({ code: "custom", path: [f], message: `is not allowed on ${o.order_type} orders` });
    }
  })
  // The same rules as the superRefine above, stated for the OpenAPI document.
  .meta({
    allOf: [
      {
        oneOf: [
          { required: ["instrument_token"], not: { anyOf: [{ required: ["exchange"] }, { required: ["symbol"] }] } },
          { required: ["exchange", "symbol"], not: { required: ["instrument_token"] } },
        ],
      },
      {
        oneOf: ORDER_TYPES.map((t) => ({
          properties: { order_type: { const: t } },
          ...((["price", "trigger_price"] as const).some((f) => priceRules[t][f]) ? { required: (["price", "trigger_price"] as const).filter((f) => priceRules[t][f]) } : {}),
          ...((["price", "trigger_price"] as const).some((f) => !priceRules[t][f])
            ? { not: { anyOf: (["price", "trigger_price"] as const).filter((f) => !priceRules[t][f]).map((f) => ({ required: [f] })) } }
            : {}),
        })),
      },
    ],
  });

export const listOrdersQuery = z.strictObject({
  broker: brokerName.optional(),
  status: z.enum(ORDER_STATUSES).optional(),
  strategy_id: z.string().min(1).max(64).optional(),
  limit: limitParam.optional().meta({ description: "1 to 500, default 50." }),
  cursor: z.string().min(1).max(512).optional().meta({ description: "next_cursor of the previous page." }),
});

const orderEventOut = z.object({ id: z.string(), type: z.string(), ts: z.string(), data: z.record(z.string(), z.unknown()) });

export const orderOut = z.object({
  order_id: z.string(),
  broker: z.enum(BROKERS),
  strategy_id: z.string(),
  instrument_token: z.number().int(),
  side: z.enum(SIDES),
  quantity: z.number().int(),
  filled_quantity: z.number().int(),
  order_type: z.enum(ORDER_TYPES),
  price: moneyOut.optional(),
  trigger_price: moneyOut.optional(),
  average_price: moneyOut.optional(),
  status: z.enum(ORDER_STATUSES),
  reason_code: z.string().optional(),
  message: z.string().optional(),
  client_order_id: z.string().optional(),
  correlation_id: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  events: z.array(orderEventOut).optional().meta({ description: "The order's lifecycle events, oldest first (GET /orders/{id} only)." }),
});

export const orderResponse = z.object({ order: orderOut });
export const orderListResponse = z.object({ orders: z.array(orderOut), next_cursor: z.string().nullable() });

// ---------------------------------------------------------------- portfolios and trades

export const positionOut = z.object({
  strategy_id: z.string(),
  instrument_token: z.number().int(),
  quantity: z.number().int(),
  average_price: moneyOut,
  last_price: moneyOut.optional(),
  realised_pnl: moneyOut,
  unrealised_pnl: moneyOut,
  fees: moneyOut,
});

export const portfolioOut = z.object({
  broker: z.enum(BROKERS),
  cash: moneyOut,
  realised_pnl: moneyOut,
  unrealised_pnl: moneyOut,
  fees: moneyOut,
  positions: z.array(positionOut),
  updated_at: z.string().optional(),
});

export const portfolioResponse = z.object({ portfolio: portfolioOut });
export const portfolioListResponse = z.object({ portfolios: z.array(portfolioOut) });
export const positionsResponse = z.object({ broker: z.enum(BROKERS), positions: z.array(positionOut) });

export const tradesQuery = z.strictObject({
  broker: brokerName.optional().meta({ description: "Default: every active broker." }),
  limit: limitParam.optional().meta({ description: "1 to 500, default 50; newest first." }),
});

export const tradeOut = z.object({
  fill_id: z.string(),
  event_id: z.string(),
  order_id: z.string(),
  broker: z.enum(BROKERS),
  strategy_id: z.string(),
  instrument_token: z.number().int(),
  side: z.enum(SIDES),
  quantity: z.number().int(),
  price: moneyOut,
  fees: moneyOut,
  ts: z.string(),
});

export const tradesResponse = z.object({ trades: z.array(tradeOut) });

// ---------------------------------------------------------------- strategies

const KINDS = STRATEGY_KINDS as [string, ...string[]];

const strategyFields = {
  kind: z.enum(KINDS, { error: `must be a strategy kind: ${KINDS.join(", ")}` }),
  params: z.record(z.string(), z.unknown()),
  instruments: z.array(instrumentToken).max(1_000, "has more than 1000 instruments"),
  brokers: z.array(z.enum(BROKERS)).min(1, "must name at least one broker"),
  enabled: z.boolean(),
};

/**
 * `params` checked against its kind's schema (the kind's own, src/strategies), `{}` when absent;
 * without a kind (a PATCH), against the kinds' schemas, one of which must take it.
 */
function checkParams(o: { kind?: string; params?: Record<string, unknown> }, ctx: z.RefinementCtx, required: boolean): void {
  if (o.params === undefined && !required) return;
  if (o.kind !== undefined && !Object.hasOwn(STRATEGY_PARAMS, o.kind)) return; // the kind's own check says so
  const kinds = o.kind === undefined ? KINDS : [o.kind];
  const results = kinds.map((k) => STRATEGY_PARAMS[k]!.safeParse(o.params ?? {}, { reportInput: true }));
  if (results.some((r) => r.success)) return;
  if (kinds.length > 1) {
    ctx.addIssue({ code: "custom", path: ["params"], message: `fit no strategy kind's params (${KINDS.join(", ")})` });
    return;
  }
  for (const i of results[0]!.error!.issues) ctx.addIssue({ ...i, path: ["params", ...i.path] } as never);
}

/** The same rule as checkParams, for the OpenAPI document: with kind k, params fit k's schema. */
const paramsByKind = (create: boolean) => ({
  anyOf: KINDS.map((k) => {
    const schema = STRATEGY_PARAMS[k]!;
    const { $schema: _, ...params } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
    return {
      properties: { kind: { const: k }, params },
      ...(create && !schema.safeParse({}).success ? { required: ["kind", "params"] } : {}),
    };
  }),
});

export const createStrategyBody = z
  .strictObject({
    id: strategyId,
    kind: strategyFields.kind,
    params: strategyFields.params.optional().meta({ description: "The kind's params (below); required unless the kind has defaults for all." }),
    instruments: strategyFields.instruments.optional(),
    brokers: strategyFields.brokers.optional().meta({ description: 'Default ["paper"].' }),
    enabled: strategyFields.enabled.optional().meta({ description: "Default true." }),
  })
  .superRefine((o, ctx) => checkParams(o, ctx, true))
  .meta(paramsByKind(true));

export const patchStrategyBody = z
  .strictObject({
    kind: strategyFields.kind.optional(),
    params: strategyFields.params.optional(),
    instruments: strategyFields.instruments.optional(),
    brokers: strategyFields.brokers.optional(),
    enabled: strategyFields.enabled.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, "must change at least one field")
  .superRefine((o, ctx) => checkParams(o, ctx, false))
  .meta({ minProperties: 1, ...paramsByKind(false) });

export const strategyOut = z.object({
  id: z.string(),
  kind: z.string(),
  params: z.record(z.string(), z.unknown()),
  instruments: z.array(z.number().int()),
  brokers: z.array(z.enum(BROKERS)),
  enabled: z.boolean(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
});

export const strategyResponse = z.object({ strategy: strategyOut });
export const strategyListResponse = z.object({ strategies: z.array(strategyOut) });

// ---------------------------------------------------------------- risk

export { MONEY_LIMITS } from "../../src/risk/limits.ts";

const fraction = z.number("must be a number").min(0, "must be a fraction from 0 to 1").max(1, "must be a fraction from 0 to 1");

/** Any subset of the limits; those not named keep their value. */
export const riskLimitsBody = z
  .strictObject({
    max_order_quantity: count.optional().meta({ description: "Units per order." }),
    max_order_notional: amountIn.optional().meta({ description: 'Rupees per order (quantity × price), decimal string, e.g. "1000000.00".' }),
    max_position_quantity: count.optional().meta({ description: "Units, net, per instrument." }),
    max_orders_per_strategy_per_day: count.optional(),
    price_band_fraction: fraction.optional().meta({ description: "How far (0.05 = 5%) a price may sit from the last tick." }),
    max_daily_loss: amountIn.optional().meta({ description: 'Rupees; a day P&L below minus this halts trading. Decimal string, e.g. "50000.00".' }),
    max_orders_per_second: count.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, "must name at least one limit")
  .meta({ minProperties: 1 });

export const riskStateBody = z.strictObject({
  state: z.enum(TRADING_STATES),
  reason: z.string().max(500, "is longer than 500 characters").optional(),
});

export const riskOut = z.object({
  broker: z.enum(BROKERS),
  state: z.enum(TRADING_STATES),
  reason: z.string().optional(),
  limits: z.record(z.string(), z.union([moneyOut, z.number()])).meta({ description: "Money limits as decimal strings, counts as integers, fractions as numbers." }),
  updated_at: z.string().optional(),
});

export const riskResponse = z.object({ risk: riskOut });

// ---------------------------------------------------------------- instruments and ticks

export const instrumentOut = z.object({
  instrument_token: z.number().int(),
  exchange: z.string(),
  tradingsymbol: z.string(),
  name: z.string(),
  tick_size: moneyOut,
  lot_size: z.number().int(),
  reference_price: moneyOut,
});

export const instrumentListResponse = z.object({ instruments: z.array(instrumentOut) });

export const MAX_TICKS = 1_000;

/**
 * True when an offset date-time stays a 4-digit year once converted to UTC, as the tick event's
 * exchange_ts must be: "9999-12-31T23:59:59-23:59" is year 10000 in UTC, which every stage would
 * dead-letter.
 */
export function inUtcRange(iso: string): boolean {
  // Not a date-time at all: the format check says so.
  return !ISO_OFFSET.test(iso) || ISO.test(toIsoMs(iso));
}

const tickIn = z.strictObject({
  instrument_token: instrumentToken,
  last_price: priceIn,
  last_quantity: count.optional(),
  volume: count.optional(),
  bid: priceIn.optional(),
  ask: priceIn.optional(),
  exchange_ts: z.iso
    .datetime({ offset: true, error: "must be an ISO 8601 date-time, e.g. 2025-01-02T09:15:00Z" })
    .refine(inUtcRange, "must fall between years 0000 and 9999 once converted to UTC")
    .optional()
    .meta({ description: "Default: when the gateway received it. Converted to UTC, it must stay within years 0000–9999 (the event schema's range)." }),
});

export const ticksBody = z.strictObject({
  ticks: z.array(tickIn).min(1, "must hold at least one tick").max(MAX_TICKS, `must hold at most ${MAX_TICKS} ticks`),
});

/**
 * `ticksBody` for the common case, by hand: the parsed body when it is certainly valid, exactly as
 * zod would give it; undefined for anything else, which then goes through zod (that decides and
 * says what is wrong). A feed posts thousands of ticks a second, and zod took most of the main
 * thread's time on them. The tests hold it to zod's answers.
 */
export function fastTicksBody(input: unknown): z.output<typeof ticksBody> | undefined {
  if (!isRecord(input) || !Array.isArray(input.ticks)) return undefined;
  for (const k in input) if (k !== "ticks") return undefined;
  const raw = input.ticks as unknown[];
  if (raw.length < 1 || raw.length > MAX_TICKS) return undefined;
  const ticks: z.output<typeof tickIn>[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const t = raw[i];
    if (!isRecord(t)) return undefined;
    for (const k in t) if (!TICK_KEYS.has(k)) return undefined;
    const token = t.instrument_token;
    if (!Number.isSafeInteger(token) || (token as number) <= 0 || (token as number) > 2 ** 32 - 1) return undefined;
    const last = fastPrice(t.last_price);
    if (last === undefined) return undefined;
    const out: z.output<typeof tickIn> = { instrument_token: token as number, last_price: last };
    if (t.last_quantity !== undefined) {
      if (!fastCount(t.last_quantity)) return undefined;
      out.last_quantity = t.last_quantity as number;
    }
    if (t.volume !== undefined) {
      if (!fastCount(t.volume)) return undefined;
      out.volume = t.volume as number;
    }
    if (t.bid !== undefined) {
      const bid = fastPrice(t.bid);
      if (bid === undefined) return undefined;
      out.bid = bid;
    }
    if (t.ask !== undefined) {
      const ask = fastPrice(t.ask);
      if (ask === undefined) return undefined;
      out.ask = ask;
    }
    if (t.exchange_ts !== undefined) {
      if (typeof t.exchange_ts !== "string" || !ISO_OFFSET.test(t.exchange_ts) || !inUtcRange(t.exchange_ts)) return undefined;
      out.exchange_ts = t.exchange_ts;
    }
    ticks[i] = out;
  }
  return { ticks };
}

const TICK_KEYS = new Set(Object.keys(tickIn.shape));
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const fastCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;

/** priceIn by hand: paise above zero, or undefined. */
function fastPrice(v: unknown): number | undefined {
  if (typeof v !== "string" || !POSITIVE_RUPEES.test(v)) return undefined;
  const paise = toPaise(v);
  return paise > 0 ? paise : undefined;
}

export const ticksResponse = z.object({ accepted: z.number().int() });

// ---------------------------------------------------------------- errors

export const errorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().meta({ description: "For VALIDATION_FAILED: [{path, message}], one per bad field." }),
  }),
});
