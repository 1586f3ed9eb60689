/**
 * The building blocks of the API's schemas: money in and out (decimal strings in rupees, never JSON
 * numbers: a JSON number is a binary float to most clients), instrument tokens, brokers, strategy
 * ids, counts and page sizes.
 */
import { z } from "zod";
import { BROKERS } from "../../../src/config.ts";
import { SIDES } from "../../../src/orders/vocabulary.ts";
import { toPaise } from "../../../src/money.ts";

const RUPEES = /^\d{1,13}(\.\d{1,2})?$/;
/** RUPEES above zero, without leading zeros: a pattern the OpenAPI document can state (no lookahead). */
export const POSITIVE_RUPEES = /^(?:[1-9]\d{0,12}(?:\.\d{1,2})?|0\.(?:[1-9]\d?|0[1-9]))$/;

/** A string, and a JSON number refused with a message that says why. */
const decimalString = () =>
  z.string({ error: (i) => (typeof i.input === "number" ? `must be a decimal string such as "2451.35", not a JSON number` : undefined) });

const rupeesString = decimalString().regex(RUPEES, `must be rupees with at most 2 decimals, such as "2451.35"`);

/** A price in rupees, above zero, as paise. */
export const priceIn = decimalString()
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
export const strategyId = z.string().regex(STRATEGY_ID, "must be lower case letters, digits and _, starting with a letter, at most 63 characters");

export const count = z.number().int("must be a whole number").min(0, "must not be negative").max(Number.MAX_SAFE_INTEGER, "is too large");

/** A page size query parameter, 1 to 500 (query strings are text; the pattern states the range). */
export const limitParam = z
  .string()
  .regex(/^(?:[1-9]\d?|[1-4]\d\d|500)$/, "must be an integer from 1 to 500")
  .transform(Number);

/** Whose, what and how many: the fields an order and a trade both answer with. */
export const tradedOut = {
  broker: z.enum(BROKERS),
  strategy_id: z.string(),
  instrument_token: z.number().int(),
  side: z.enum(SIDES),
  quantity: z.number().int(),
};
