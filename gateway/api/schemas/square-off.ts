/** Cancel-all's and square-off's request and response schemas. */
import { z } from "zod";
import { brokerName, instrumentToken } from "./fields.ts";
import { orderOut } from "./orders.ts";

/** An instrument token in a query string (text). */
const tokenParam = z
  .string()
  .regex(/^[1-9]\d{0,9}$/, "must be an instrument token (a positive integer)")
  .transform(Number)
  .refine((token) => token <= 2 ** 32 - 1, "is not an instrument token")
  .meta({ description: "Only this instrument's." });

const strategyFilter = z.string().min(1).max(64);

export const cancelAllQuery = z.strictObject({
  broker: brokerName.optional().meta({ description: "Only this broker's; default every active broker." }),
  strategy_id: strategyFilter.optional().meta({ description: 'Only this strategy\'s ("manual" for orders placed through the API without one).' }),
  instrument_token: tokenParam.optional(),
});

export const cancelAllResponse = z.object({
  cancelled: z.array(z.string()).meta({ description: "The order_ids a cancel was requested for (empty when none was open); each order's events say when it is done." }),
});

export const squareOffBody = z.strictObject({
  strategy_id: strategyFilter.optional().meta({ description: "Only this strategy's positions; default every strategy's." }),
  instrument_token: instrumentToken.optional().meta({ description: "Only positions in this instrument; default every instrument." }),
});

export const squareOffResponse = z.object({
  orders: z.array(orderOut).meta({
    description: "The reduce-only MARKET orders that flatten the matching positions, one per position (empty when flat). A square-off still under way is answered again, not placed twice.",
  }),
});
