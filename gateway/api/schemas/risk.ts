/** The risk limits' and the kill switch's schemas. */
import { z } from "zod";
import { BROKERS } from "../../../src/config.ts";
import { TRADING_STATES } from "../../../src/orders/vocabulary.ts";
import { amountIn, count, moneyOut } from "./fields.ts";

export { MONEY_LIMITS } from "../../../src/risk/limits.ts";

const fraction = z.number("must be a number").min(0, "must be a fraction from 0 to 1").max(1, "must be a fraction from 0 to 1");

/** Any subset of the limits; those not named keep their value. */
export const riskLimitsBody = z
  .strictObject({
    max_order_quantity: count.optional().meta({ description: "Units per order." }),
    max_order_notional: amountIn.optional().meta({ description: 'Rupees per order (quantity × price), decimal string, e.g. "1000000.00".' }),
    max_position_quantity: count.optional().meta({ description: "Units, net, per instrument." }),
    max_orders_per_strategy_per_day: count.optional(),
    price_band_fraction: fraction.optional().meta({ description: "How far (0.05 = 5%) a price may sit from the last tick." }),
    max_daily_loss: amountIn.optional().meta({ description: 'Rupees; a day P&L below minus this puts the broker in REDUCING and squares off its intraday (MIS) positions. Decimal string, e.g. "50000.00".' }),
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
