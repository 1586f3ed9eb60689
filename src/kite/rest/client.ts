/**
 * The Kite Connect v3 REST client: orders, trades, portfolio and margins, with prices in paise.
 *
 * Retries: a read (or a modify, which sets the same values again) is retried on any transient
 * failure. A placement is not idempotent at Kite, so one whose answer was lost (timeout, 5xx) is
 * only retried after the order book shows no order with its tag; without a tag it fails as
 * "ambiguous" instead of risking a second order. A 429 or a refused connection is always safe to
 * retry: Kite did nothing. Every attempt at an order request takes a rate-limit slot (retry.ts).
 *
 * The gap left: a placement Kite is still working on when we look is not in the book yet, and is
 * placed again. The backoff before looking narrows it; Kite answers well within the timeout.
 */
import { z } from "zod";
import { ConfigError } from "../../errors.ts";
import { KiteError } from "./errors.ts";
import { send, type FetchLike } from "./http.ts";
import { RateLimiter, systemClock, type Clock } from "./limiter.ts";
import { modifyOrderSchema, placeOrderSchema, toForm, VARIETIES, type ModifyOrderParams, type PlaceOrderParams, type Variety } from "./params.ts";
import {
  describeIssues,
  holdingSchema,
  marginsSchema,
  orderIdSchema,
  orderSchema,
  positionsSchema,
  sessionSchema,
  success,
  tradeSchema,
  type KiteHolding,
  type KiteMargins,
  type KiteOrder,
  type KitePositions,
  type KiteSession,
  type KiteTrade,
} from "./schemas.ts";
import { callWithRetries, parsed, type KiteCall } from "./retry.ts";

export const DEFAULT_BASE_URL = "https://api.kite.trade";

/** What placing, modifying and cancelling answer: the order's id. */
const orderIdAnswer = success(orderIdSchema).transform((answer) => ({ data: answer.data.order_id }));

const optionsSchema = z.object({
  baseUrl: z.url().default(DEFAULT_BASE_URL),
  apiKey: z.string().min(1, "KITE_API_KEY is required"),
  accessToken: z.string().min(1, "an access token is required (run `bun run kite:session`)"),
  rateLimit: z
    .object({
      perSecond: z.number().int().positive().default(10),
      perMinute: z.number().int().positive().default(200),
      /** Reads (order book, trades, portfolio): Kite allows 10/s for "all other endpoints". */
      readsPerSecond: z.number().int().positive().default(10),
      maxQueue: z.number().int().positive().default(100),
      marginMs: z.number().int().nonnegative().default(100),
    })
    .prefault({}),
  retries: z.number().int().nonnegative().max(10).default(3),
  backoffMs: z.number().nonnegative().default(200),
  maxBackoffMs: z.number().nonnegative().default(5_000),
  timeoutMs: z.number().int().positive().default(7_000),
});

export interface KiteClientOptions {
  /** Default https://api.kite.trade. */
  baseUrl?: string;
  apiKey: string;
  accessToken: string;
  /**
   * Order requests (place, modify, cancel, and each retry of one): 10/s and 200/min by default;
   * reads 10/s. Callers wait in a bounded FIFO queue (`maxQueue`, default 100, per kind); past it
   * they get a "throttled" error. `marginMs` (default 100) lengthens every window, since Kite
   * counts arrivals and arrivals jitter.
   */
  rateLimit?: { perSecond?: number; perMinute?: number; readsPerSecond?: number; maxQueue?: number; marginMs?: number };
  /** Retries after the first attempt (default 3), with exponential backoff from `backoffMs` (200). */
  retries?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Per attempt (default 7000, as Kite's own clients). */
  timeoutMs?: number;
  fetch?: FetchLike;
  clock?: Clock;
}

/**
 * @example
 * const kite = new KiteClient({ apiKey: env.KITE_API_KEY, accessToken });
 * const id = await kite.placeOrder("regular", {
 *   exchange: "NSE", tradingsymbol: "INFY", transaction_type: "BUY", order_type: "LIMIT",
 *   quantity: 1, product: "CNC", price: 145050, tag: kiteTag(order.order_id),
 * });
 */
export class KiteClient {
  private readonly opts: z.output<typeof optionsSchema>;
  private readonly fetchFn: FetchLike;
  private readonly clock: Clock;
  private readonly orderLimiter: RateLimiter;
  private readonly readLimiter: RateLimiter;
  private accessToken: string;

  constructor(options: KiteClientOptions) {
    const { fetch: fetchFn, clock, ...rest } = options;
    const checked = optionsSchema.safeParse(rest);
    if (!checked.success) throw new ConfigError(checked.error.issues.map((issue) => ({ path: `kite.${issue.path.join(".")}`, message: issue.message })));
    this.opts = { ...checked.data, baseUrl: checked.data.baseUrl.replace(/\/+$/, "") };
    this.fetchFn = fetchFn ?? ((url, init) => fetch(url, init));
    this.clock = clock ?? systemClock;
    this.accessToken = checked.data.accessToken;
    const { perSecond, perMinute, readsPerSecond, maxQueue, marginMs } = checked.data.rateLimit;
    const common = { maxQueue, marginMs, clock: this.clock };
    this.orderLimiter = new RateLimiter([{ limit: perSecond, ms: 1000 }, { limit: perMinute, ms: 60_000 }], { ...common, name: "order requests" });
    this.readLimiter = new RateLimiter([{ limit: readsPerSecond, ms: 1000 }], { ...common, name: "read requests" });
  }

  /** After a new login (the access token changes daily), without losing the rate-limit history. */
  setAccessToken(accessToken: string): void {
    this.accessToken = accessToken;
  }

  /** Refuses every queued and later request: call on shutdown. */
  close(): void {
    this.orderLimiter.close();
    this.readLimiter.close();
  }

  /**
   * Places an order; resolves with Kite's order_id. Kite's 200 means "accepted", not "open":
   * the order can still be REJECTED later (see orderHistory or postbacks).
   */
  async placeOrder(variety: Variety, params: PlaceOrderParams): Promise<string> {
    const valid = this.check(placeOrderSchema, params, "order parameters");
    this.checkVariety(variety);
    const tag = valid.tag;
    return this.call({
      method: "POST",
      path: `/orders/${variety}`,
      form: toForm(valid),
      limiter: this.orderLimiter,
      parse: orderIdAnswer,
      once: true,
      reconcile: tag === undefined ? undefined : async () => (await this.orders()).find((o) => o.tag === tag || o.tags?.includes(tag))?.order_id,
    });
  }

  /** Modifies an open order; resolves with its order_id (Kite acts on it asynchronously). */
  async modifyOrder(variety: Variety, orderId: string, params: ModifyOrderParams): Promise<string> {
    const valid = this.check(modifyOrderSchema, params, "modify parameters");
    this.checkVariety(variety);
    return this.call({
      method: "PUT",
      path: `/orders/${variety}/${encodeURIComponent(orderId)}`,
      form: toForm(valid),
      limiter: this.orderLimiter,
      parse: orderIdAnswer,
    });
  }

  /**
   * Cancels an open order. If an earlier attempt's answer was lost and Kite now says the order
   * cannot be cancelled, its history decides: already CANCELLED counts as done.
   */
  async cancelOrder(variety: Variety, orderId: string, opts: { parent_order_id?: string } = {}): Promise<string> {
    this.checkVariety(variety);
    const query = opts.parent_order_id ? `?${new URLSearchParams({ parent_order_id: opts.parent_order_id })}` : "";
    return this.call({
      method: "DELETE",
      path: `/orders/${variety}/${encodeURIComponent(orderId)}${query}`,
      limiter: this.orderLimiter,
      parse: orderIdAnswer,
      reconcile: async () => ((await this.orderHistory(orderId)).at(-1)?.status === "CANCELLED" ? orderId : undefined),
    });
  }

  /** Today's orders, each in its latest state. */
  orders(): Promise<KiteOrder[]> {
    return this.read("/orders", z.array(orderSchema));
  }

  /** Every state an order went through, oldest first. */
  orderHistory(orderId: string): Promise<KiteOrder[]> {
    return this.read(`/orders/${encodeURIComponent(orderId)}`, z.array(orderSchema));
  }

  /** The fills of one order: exact prices, one trade_id each (the dedup key for the ledger). */
  orderTrades(orderId: string): Promise<KiteTrade[]> {
    return this.read(`/orders/${encodeURIComponent(orderId)}/trades`, z.array(tradeSchema));
  }

  trades(): Promise<KiteTrade[]> {
    return this.read("/trades", z.array(tradeSchema));
  }

  positions(): Promise<KitePositions> {
    return this.read("/portfolio/positions", positionsSchema);
  }

  holdings(): Promise<KiteHolding[]> {
    return this.read("/portfolio/holdings", z.array(holdingSchema));
  }

  margins(): Promise<KiteMargins> {
    return this.read("/user/margins", marginsSchema);
  }

  /** Exchanges a request_token for an access token: see {@link exchangeSession}. */
  static exchangeSession(opts: ExchangeSessionOptions): Promise<KiteSession> {
    return exchangeSession(opts);
  }

  private read<T>(path: string, schema: z.ZodType<T>): Promise<T> {
    return this.call({ method: "GET", path, limiter: this.readLimiter, parse: success(schema) as z.ZodType<{ data: T }> });
  }

  private check<S extends z.ZodType>(schema: S, params: unknown, what: string): z.output<S> {
    const result = schema.safeParse(params);
    if (!result.success) throw new KiteError("rejected", `${what} invalid, not sent to Kite: ${describeIssues(result.error)}`);
    return result.data;
  }

  private checkVariety(variety: string): void {
    if (!(VARIETIES as readonly string[]).includes(variety)) {
      throw new KiteError("rejected", `variety ${JSON.stringify(variety)} is not one of ${VARIETIES.join(", ")}; not sent to Kite`);
    }
  }

  private call<T>(call: KiteCall<T>): Promise<T> {
    return callWithRetries(call, this.opts, {
      fetch: this.fetchFn,
      baseUrl: this.opts.baseUrl,
      clock: this.clock,
      // Read at each attempt: a new login during the retries is used at once.
      authorization: () => `token ${this.opts.apiKey}:${this.accessToken}`,
    });
  }
}

export interface ExchangeSessionOptions {
  baseUrl?: string;
  apiKey: string;
  requestToken: string;
  apiSecret: string;
  fetch?: FetchLike;
  timeoutMs?: number;
}

/**
 * `POST /session/token` with checksum = sha256(api_key + request_token + api_secret). Sent once,
 * never retried: a request_token works only once, so a retry could only fail.
 *
 * @example
 * const s = await exchangeSession({ apiKey, requestToken, apiSecret });
 * await storeAccessToken(sql, { api_key: apiKey, access_token: s.access_token, user_id: s.user_id });
 */
export async function exchangeSession(opts: ExchangeSessionOptions): Promise<KiteSession> {
  const checksum = new Bun.CryptoHasher("sha256").update(opts.apiKey + opts.requestToken + opts.apiSecret).digest("hex");
  const baseUrl = (opts.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
  const fetchFn = opts.fetch ?? ((url, init) => fetch(url, init));
  const form = { api_key: opts.apiKey, request_token: opts.requestToken, checksum };
  const out = await send(fetchFn, baseUrl, { method: "POST", path: "/session/token", form }, opts.timeoutMs ?? 7_000);
  if (!out.ok) throw out.error;
  return parsed(success(sessionSchema), out.data, "POST /session/token");
}
