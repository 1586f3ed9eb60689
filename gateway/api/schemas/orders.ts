/** The orders' request and response schemas. */
import { z } from "zod";
import { ORDER_STATUSES, ORDER_TYPES, PRICES_NEEDED, PRODUCTS, SIDES } from "../../../src/orders/vocabulary.ts";
import { brokerName, instrumentToken, limitParam, moneyOut, priceIn, strategyId, tradedOut } from "./fields.ts";

const PRICE_FIELDS = ["price", "trigger_price"] as const;

const orderQuantity = z.number().int("must be a whole number").positive("must be above 0").max(10_000_000, "is too large").meta({ description: "A multiple of the instrument's lot size." });

export const placeOrderBody = z
  .strictObject({
    broker: brokerName,
    instrument_token: instrumentToken.optional(),
    exchange: z.string().min(1).max(16).optional().meta({ description: "With symbol, instead of instrument_token." }),
    symbol: z.string().min(1).max(64).optional().meta({ description: "Trading symbol, e.g. RELIANCE; with exchange." }),
    side: z.enum(SIDES),
    quantity: orderQuantity,
    order_type: z.enum(ORDER_TYPES),
    price: priceIn.optional().meta({ description: "Rupees as a decimal string. LIMIT and SL need it; MARKET and SL-M refuse it." }),
    trigger_price: priceIn.optional().meta({ description: "Rupees as a decimal string. SL and SL-M need it; the others refuse it." }),
    product: z.enum(PRODUCTS).optional(),
    amo: z
      .boolean()
      .optional()
      .meta({ description: "After-market order: placed while the market is closed, it rests until the next open (09:15 IST). Refused AMO_MARKET_OPEN while the market trades, as Kite refuses it; with MARKET_HOURS=off it trades like any order (Kite still gets variety amo)." }),
    strategy_id: strategyId.optional().meta({ description: 'Defaults to "manual".' }),
    client_order_id: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, "must be 1 to 64 letters, digits or _ . : -")
      .optional()
      .meta({ description: "Idempotency key: placing again with the same one returns the first order (200), never a second." }),
  })
  .superRefine((order, ctx) => {
    const named = order.exchange !== undefined || order.symbol !== undefined;
    if (order.instrument_token === undefined && !named) {
      ctx.addIssue({ code: "custom", path: ["instrument_token"], message: "is required (or exchange and symbol)" });
    } else if (order.instrument_token !== undefined && named) {
      ctx.addIssue({ code: "custom", path: ["instrument_token"], message: "give instrument_token or exchange and symbol, not both" });
    } else if (named) {
      for (const field of ["exchange", "symbol"] as const) {
        if (order[field] === undefined) ctx.addIssue({ code: "custom", path: [field], message: `is required with ${field === "exchange" ? "symbol" : "exchange"}` });
      }
    }
    const needed = PRICES_NEEDED[order.order_type];
    for (const field of PRICE_FIELDS) {
      if (needed[field] && order[field] === undefined) ctx.addIssue({ code: "custom", path: [field], message: `is required for ${order.order_type} orders` });
      if (!needed[field] && order[field] !== undefined) ctx.addIssue({ code: "custom", path: [field], message: `is not allowed on ${order.order_type} orders` });
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
        oneOf: ORDER_TYPES.map((type) => {
          const required = PRICE_FIELDS.filter((field) => PRICES_NEEDED[type][field]);
          const refused = PRICE_FIELDS.filter((field) => !PRICES_NEEDED[type][field]);
          return {
            properties: { order_type: { const: type } },
            ...(required.length > 0 ? { required } : {}),
            ...(refused.length > 0 ? { not: { anyOf: refused.map((field) => ({ required: [field] })) } } : {}),
          };
        }),
      },
    ],
  });

/** PATCH /orders/:id: the fields to change; the rest stay as they are (a price the new type refuses is dropped). */
export const modifyOrderBody = z
  .strictObject({
    quantity: orderQuantity.optional().meta({ description: "The whole order's new quantity (above what has filled), a multiple of the lot size." }),
    price: priceIn.optional().meta({ description: "Rupees as a decimal string; for LIMIT and SL orders." }),
    trigger_price: priceIn.optional().meta({ description: "Rupees as a decimal string; for SL and SL-M orders." }),
    order_type: z.enum(ORDER_TYPES).optional(),
  })
  .refine((change) => Object.values(change).some((value) => value !== undefined), { message: "name at least one of quantity, price, trigger_price, order_type" })
  .meta({ minProperties: 1 });

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
  ...tradedOut,
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
