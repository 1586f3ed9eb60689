/**
 * A Kite Connect v3 compatible fake REST server for tests (Bun.serve on a free port), written from
 * Kite's docs. It checks what Kite checks (X-Kite-Version: 3, `Authorization: token
 * api_key:access_token`, form-encoded bodies, its rate limits), keeps an order book, answers in
 * Kite's envelopes, records every request, fails on demand, and sends postbacks.
 *
 * @example
 * const kite = await startFakeKite();
 * const client = new KiteClient({ baseUrl: kite.url, apiKey: kite.apiKey, accessToken: kite.accessToken, backoffMs: 1 });
 * kite.failNext(2, FAILURES.tooManyRequests);        // the next 2 requests get 429
 * const id = await client.placeOrder("regular", {...}); // retried, then placed
 * kite.fill(id);                                      // a LIMIT order fills
 * await kite.sendPostback(`${gateway}/kite/postback`, id);
 * await kite.stop();
 */
import { NSE_INSTRUMENTS } from "../../../src/market/instruments.ts";
import { OrderBook, type KiteFailureBody } from "./book.ts";
import { HOLDINGS, MARGINS } from "./fixtures.ts";
import { postbackBody, type PostbackOptions } from "./postbacks.ts";

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased names. */
  headers: Record<string, string>;
  /** The parsed form body (empty without one). */
  form: Record<string, string>;
  body: string;
  /** performance.now() on arrival: for counting requests per window. */
  at: number;
  /** The HTTP status answered. */
  status?: number;
}

/** An injected failure: Kite's error envelope (or a raw body), after an optional delay. */
export interface Failure {
  status: number;
  error_type?: string;
  message?: string;
  /** A non-JSON body instead of the envelope (a proxy's HTML page). */
  raw?: string;
  /** Wait this long before answering (longer than the client's timeout = no answer); with
   *  afterApply the request takes effect at once and only the answer waits. */
  delayMs?: number;
  /** Do the request first, then answer with the failure: the answer was lost, the deed done. */
  afterApply?: boolean;
}

export const FAILURES = {
  tooManyRequests: { status: 429, error_type: "NetworkException", message: "Too many requests" },
  serverError: { status: 500, error_type: "GeneralException", message: "Something unexpected went wrong" },
  badGateway: { status: 502, raw: "<html><body><h1>502 Bad Gateway</h1></body></html>" },
  unavailable: { status: 503, error_type: "NetworkException", message: "Service unavailable" },
  gatewayTimeout: { status: 504, raw: "<html>504 Gateway Time-out</html>" },
  networkException: { status: 503, error_type: "NetworkException", message: "Couldn't connect to the OMS" },
  tokenException: { status: 403, error_type: "TokenException", message: "Incorrect `api_key` or `access_token`." },
  generalException: { status: 500, error_type: "GeneralException", message: "Something went wrong" },
  dataException: { status: 502, error_type: "DataException", message: "Couldn't parse the response from the OMS" },
  notFound: { status: 404, error_type: "GeneralException", message: "Request resource was not found." },
  input: (message: string): Failure => ({ status: 400, error_type: "InputException", message }),
  order: (message: string): Failure => ({ status: 400, error_type: "OrderException", message }),
  margin: (message: string): Failure => ({ status: 400, error_type: "MarginException", message }),
  holding: (message: string): Failure => ({ status: 400, error_type: "HoldingException", message }),
} satisfies Record<string, Failure | ((m: string) => Failure)>;

/** Which requests a failure applies to (all when absent). */
export interface Match {
  method?: string;
  path?: string | RegExp;
}

export interface FakeKiteOptions {
  apiKey?: string;
  apiSecret?: string;
  accessToken?: string;
  userId?: string;
  /** Kite's limits, enforced with 429 (default on): 10 order requests/s, 200/min, 10 reads/s. */
  enforceRateLimits?: boolean;
}

const ORDER_PATH = /^\/orders\/[a-z]+(\/[^/]+)?$/;

export class FakeKite {
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly userId: string;
  /** The newest valid access token (a session exchange adds one; expireTokens() ends all). */
  accessToken: string;
  readonly requests: RecordedRequest[] = [];
  readonly book: OrderBook;
  holdings: Record<string, unknown>[] = structuredClone(HOLDINGS);
  margins: Record<string, unknown> = structuredClone(MARGINS);
  /** 429 answers the fake gave because a limit was exceeded (the client should make this 0). */
  rateLimited = 0;

  private readonly tokens = new Set<string>();
  private readonly requestTokens = new Set<string>();
  private readonly failures: Array<{ left: number; failure: Failure; match: Match }> = [];
  private readonly prices = new Map<string, number>();
  private server!: ReturnType<typeof Bun.serve>;
  private readonly enforce: boolean;

  constructor(opts: FakeKiteOptions = {}) {
    this.apiKey = opts.apiKey ?? "fake_api_key";
    this.apiSecret = opts.apiSecret ?? "fake_api_secret";
    this.userId = opts.userId ?? "AB1234";
    this.accessToken = opts.accessToken ?? "fake_access_token";
    this.tokens.add(this.accessToken);
    this.enforce = opts.enforceRateLimits ?? true;
    for (const i of NSE_INSTRUMENTS) this.prices.set(`${i.exchange}:${i.tradingsymbol}`, i.reference_price);
    this.book = new OrderBook({
      userId: this.userId,
      now: () => new Date(),
      tokenOf: (exchange, symbol) => NSE_INSTRUMENTS.find((i) => i.exchange === exchange && i.tradingsymbol === symbol)?.instrument_token,
      lastPrice: (exchange, symbol) => this.lastPrice(exchange, symbol),
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  start(): this {
    this.server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => this.handle(req) });
    return this;
  }

  async stop(): Promise<void> {
    await this.server.stop(true);
  }

  /** The last traded price MARKET orders fill at, paise ("INFY" means NSE:INFY). */
  setLastPrice(symbol: string, paise: number): void {
    this.prices.set(symbol.includes(":") ? symbol : `NSE:${symbol}`, paise);
  }

  /** The next `count` matching requests fail with `failure`. */
  failNext(count: number, failure: Failure, match: Match = {}): void {
    this.failures.push({ left: count, failure, match });
  }

  /** Every access token is now expired: each request gets 403 TokenException. */
  expireTokens(): void {
    this.tokens.clear();
  }

  /** What Kite's login redirect would carry: a request_token good for one exchange. */
  issueRequestToken(): string {
    const t = crypto.randomUUID().replaceAll("-", "");
    this.requestTokens.add(t);
    return t;
  }

  /** The next `count` placements are accepted (200) and then REJECTED with `message`, as by RMS. */
  rejectNextOrders(count: number, message: string): void {
    for (let i = 0; i < count; i++) this.book.rejectNext.push(message);
  }

  /** Fills a live order (all that is pending by default) at its price, or the last price. */
  fill(orderId: string, opts: { quantity?: number; price?: number } = {}): void {
    const o = this.book.orders.get(orderId);
    if (!o) throw new Error(`fake kite: no order ${orderId}`);
    const price = opts.price ?? (o.price || this.lastPrice(o.exchange, o.tradingsymbol));
    this.book.fill(orderId, opts.quantity ?? o.quantity - o.filled, price);
  }

  /** Paise; ₹100 for a symbol nobody priced. */
  lastPrice(exchange: string, symbol: string): number {
    return this.prices.get(`${exchange}:${symbol}`) ?? 10_000;
  }

  /** Place, modify and cancel requests, in arrival order. */
  orderRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== "GET" && ORDER_PATH.test(r.path));
  }

  /** The postback Kite would send for an order now (raw JSON, checksummed with the api_secret). */
  postback(orderId: string, opts: PostbackOptions = {}): string {
    const o = this.book.orders.get(orderId);
    if (!o) throw new Error(`fake kite: no order ${orderId}`);
    return postbackBody(this.book.json(o), { apiSecret: this.apiSecret, userId: this.userId, ...opts });
  }

  /** POSTs that postback to `url` as Kite does (raw JSON body). */
  sendPostback(url: string, orderId: string, opts: PostbackOptions = {}): Promise<Response> {
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: this.postback(orderId, opts) });
  }

  private async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const body = await req.text();
    const headers = Object.fromEntries([...req.headers].map(([k, v]) => [k.toLowerCase(), v]));
    const isForm = (headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded");
    const rec: RecordedRequest = {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      form: isForm ? Object.fromEntries(new URLSearchParams(body)) : {},
      body,
      at: performance.now(),
    };
    this.requests.push(rec);
    const res = await this.answer(rec, isForm);
    rec.status = res.status;
    return res;
  }

  private async answer(rec: RecordedRequest, isForm: boolean): Promise<Response> {
    const failure = this.takeFailure(rec);
    if (!failure) return this.route(rec, isForm);
    // afterApply: the deed is done at once, only the answer is late or lost.
    if (failure.afterApply) this.route(rec, isForm);
    if (failure.delayMs) await Bun.sleep(failure.delayMs);
    return failed(failure);
  }

  private takeFailure(rec: RecordedRequest): Failure | undefined {
    const f = this.failures.find(
      (x) =>
        x.left > 0 &&
        (!x.match.method || x.match.method === rec.method) &&
        (!x.match.path || (typeof x.match.path === "string" ? x.match.path === rec.path : x.match.path.test(rec.path))),
    );
    if (!f) return undefined;
    f.left--;
    return f.failure;
  }

  private route(rec: RecordedRequest, isForm: boolean): Response {
    if (rec.headers["x-kite-version"] !== "3") return error({ status: 400, error_type: "InputException", message: "Missing or invalid `X-Kite-Version` header (must be 3)." });
    if ((rec.method === "POST" || rec.method === "PUT") && !isForm) {
      return error({ status: 400, error_type: "InputException", message: "Request body must be application/x-www-form-urlencoded." });
    }
    if (rec.method === "POST" && rec.path === "/session/token") return this.session(rec.form);
    if (!this.authorized(rec.headers.authorization)) return error({ status: 403, error_type: "TokenException", message: "Incorrect `api_key` or `access_token`." });
    if (this.overLimit(rec)) {
      this.rateLimited++;
      return error({ status: 429, error_type: "NetworkException", message: "Too many requests" });
    }

    const [, a, b, c, ...rest] = rec.path.split("/");
    if (rest.length === 0 && a === "orders") {
      if (rec.method === "POST" && b && !c) return result(this.book.place(b, rec.form));
      if (rec.method === "PUT" && b && c) return result(this.book.modify(b, c, rec.form));
      if (rec.method === "DELETE" && b && c) return result(this.book.cancel(b, c));
      if (rec.method === "GET" && !b) return ok([...this.book.orders.values()].map((o) => this.book.json(o)));
      if (rec.method === "GET" && b && !c) return this.history(b);
      if (rec.method === "GET" && b && c === "trades") return this.book.orders.has(b) ? ok(this.book.trades(b)) : notFoundOrder();
    }
    if (rec.method === "GET") {
      if (rec.path === "/trades") return ok(this.book.trades());
      if (rec.path === "/portfolio/positions") return ok({ net: this.book.positions(), day: this.book.positions() });
      if (rec.path === "/portfolio/holdings") return ok(this.holdings);
      if (rec.path === "/user/margins") return ok(this.margins);
    }
    return error({ status: 404, error_type: "GeneralException", message: "Request resource was not found." });
  }

  private history(id: string): Response {
    const o = this.book.orders.get(id);
    return o ? ok(o.history) : notFoundOrder();
  }

  private authorized(header: string | undefined): boolean {
    const m = /^token ([^:]+):(.+)$/.exec(header ?? "");
    return !!m && m[1] === this.apiKey && this.tokens.has(m[2]!);
  }

  private session(form: Record<string, string>): Response {
    const { api_key, request_token, checksum } = form;
    if (!api_key || !request_token || !checksum) return error({ status: 400, error_type: "InputException", message: "Missing `api_key`, `request_token` or `checksum`." });
    if (api_key !== this.apiKey) return error({ status: 403, error_type: "TokenException", message: "Invalid `api_key`." });
    if (!this.requestTokens.has(request_token)) return error({ status: 403, error_type: "TokenException", message: "Token is invalid or has expired." });
    const expected = new Bun.CryptoHasher("sha256").update(api_key + request_token + this.apiSecret).digest("hex");
    if (checksum !== expected) return error({ status: 403, error_type: "TokenException", message: "Invalid `checksum`." });
    this.requestTokens.delete(request_token);
    this.accessToken = crypto.randomUUID().replaceAll("-", "");
    this.tokens.add(this.accessToken);
    return ok({
      user_type: "individual",
      email: "trader@example.com",
      user_name: "Fake Trader",
      user_shortname: "Fake",
      broker: "ZERODHA",
      exchanges: ["NSE", "BSE", "NFO"],
      products: ["CNC", "NRML", "MIS"],
      order_types: ["MARKET", "LIMIT", "SL", "SL-M"],
      avatar_url: null,
      user_id: this.userId,
      api_key: this.apiKey,
      access_token: this.accessToken,
      public_token: "fake_public_token",
      enctoken: "fake_enctoken",
      refresh_token: "",
      silo: "",
      login_time: "2024-06-10 08:15:14",
      meta: { demat_consent: "physical" },
    });
  }

  /** Kite's limits, counted on arrival over sliding windows. */
  private overLimit(rec: RecordedRequest): boolean {
    if (!this.enforce) return false;
    const isOrder = rec.method !== "GET" && ORDER_PATH.test(rec.path);
    const same = this.requests.filter((r) => r !== rec && r.status !== 429 && (r.method !== "GET" && ORDER_PATH.test(r.path)) === isOrder);
    const within = (ms: number) => same.filter((r) => r.at > rec.at - ms).length;
    return isOrder ? within(1000) >= 10 || within(60_000) >= 200 : within(1000) >= 10;
  }
}

const ok = (data: unknown): Response => Response.json({ status: "success", data });

function error(e: KiteFailureBody): Response {
  return Response.json({ status: "error", message: e.message, data: null, error_type: e.error_type }, { status: e.status });
}

function failed(f: Failure): Response {
  if (f.raw !== undefined) return new Response(f.raw, { status: f.status, headers: { "Content-Type": "text/html" } });
  return error({ status: f.status, error_type: f.error_type ?? "GeneralException", message: f.message ?? "error" });
}

function result(r: { order_id: string } | KiteFailureBody): Response {
  return "error_type" in r ? error(r) : ok({ order_id: r.order_id });
}

const notFoundOrder = (): Response => error({ status: 400, error_type: "InputException", message: "Couldn't find that `order_id`." });

/** Starts a fake Kite on a free port. */
export async function startFakeKite(opts: FakeKiteOptions = {}): Promise<FakeKite> {
  return new FakeKite(opts).start();
}
