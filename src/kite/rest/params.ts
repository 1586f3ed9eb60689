/**
 * What we send to Kite: order parameters with prices in paise, checked before they cost a
 * rate-limit slot, and turned into Kite's form fields (rupee decimals, "2451.35").
 */
import { z } from "zod";
import { toRupees } from "../../money.ts";
import type { Paise } from "../../money.ts";
import { ORDER_TYPES, PRICES_NEEDED, PRODUCTS, SIDES } from "../../orders/vocabulary.ts";

/** Kite's order varieties (the path segment of /orders/:variety). */
export const VARIETIES = ["regular", "amo", "co", "iceberg", "auction"] as const;
export type Variety = (typeof VARIETIES)[number];

const paise = z.number().int().positive();
const orderType = z.enum(ORDER_TYPES);
/** Ours, and Kite's margin trading facility, which we never place but Kite's API takes. */
const KITE_PRODUCTS = [...PRODUCTS, "MTF"] as const;
const validity = z.enum(["DAY", "IOC", "TTL"]);

export const placeOrderSchema = z
  .object({
    exchange: z.string().min(1),
    tradingsymbol: z.string().min(1),
    transaction_type: z.enum(SIDES),
    order_type: orderType,
    quantity: z.number().int().positive(),
    product: z.enum(KITE_PRODUCTS),
    /** Paise. Required for LIMIT and SL. */
    price: paise.optional(),
    /** Paise. Required for SL and SL-M. */
    trigger_price: paise.optional(),
    validity: validity.optional(),
    /** Minutes, with validity TTL. */
    validity_ttl: z.number().int().positive().optional(),
    disclosed_quantity: z.number().int().nonnegative().optional(),
    iceberg_legs: z.number().int().min(2).optional(),
    iceberg_quantity: z.number().int().positive().optional(),
    auction_number: z.string().min(1).optional(),
    market_protection: z.number().int().min(-1).max(100).optional(),
    /**
     * Up to 20 characters; also how a lost answer is reconciled: placeOrder finds the order by
     * its tag instead of placing it twice. Make it unique per order ({@link kiteTag}).
     */
    tag: z
      .string()
      .regex(/^[A-Za-z0-9 _-]{1,20}$/, "at most 20 letters, digits, spaces, _ or -")
      .optional(),
  })
  .strict()
  .superRefine((params, ctx) => {
    const need = (field: "price" | "trigger_price", why: string) => {
      if (params[field] === undefined) ctx.addIssue({ code: "custom", path: [field], message: `required ${why}` });
    };
    if (PRICES_NEEDED[params.order_type].price) need("price", `for ${params.order_type} orders`);
    if (PRICES_NEEDED[params.order_type].trigger_price) need("trigger_price", `for ${params.order_type} orders`);
    if (params.validity === "TTL" && params.validity_ttl === undefined) {
      ctx.addIssue({ code: "custom", path: ["validity_ttl"], message: "required with validity TTL" });
    }
  });
export type PlaceOrderParams = z.input<typeof placeOrderSchema>;

export const modifyOrderSchema = z
  .object({
    quantity: z.number().int().positive().optional(),
    price: paise.optional(),
    trigger_price: paise.optional(),
    order_type: orderType.optional(),
    validity: validity.optional(),
    disclosed_quantity: z.number().int().nonnegative().optional(),
    parent_order_id: z.string().min(1).optional(),
  })
  .strict()
  .refine((p) => Object.values(p).some((v) => v !== undefined), "nothing to modify");
export type ModifyOrderParams = z.input<typeof modifyOrderSchema>;

const PRICE_FIELDS = new Set(["price", "trigger_price"]);

/**
 * Kite form fields: prices as rupee decimals, everything else as text, absent fields left out.
 *
 * @example
 * toForm({ quantity: 1, price: 245135 }); // { quantity: "1", price: "2451.35" }
 */
export function toForm(params: Record<string, string | number | undefined>): Record<string, string> {
  const form: Record<string, string> = {};
  for (const [field, value] of Object.entries(params)) {
    if (value === undefined) continue;
    form[field] = PRICE_FIELDS.has(field) ? toRupees(value as Paise) : String(value);
  }
  return form;
}

/**
 * A Kite tag (20 hex characters, 80 bits) derived from our own order id, so one order always has
 * the same tag and a placement whose answer was lost can be found in the order book.
 *
 * @example
 * kiteTag("01890a5d-ac96-774b-bcce-b302099a8057"); // "3f1c…" (20 hex digits, always the same)
 */
export function kiteTag(orderId: string): string {
  return new Bun.CryptoHasher("sha256").update(orderId).digest("hex").slice(0, 20);
}
