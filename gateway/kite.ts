/**
 * Kite Connect in the gateway process: order updates and the market feed.
 *
 * Order updates reach us three ways: postbacks (POST /api/v1/kite/postback, checksummed with the
 * api_secret), order messages on the ticker's WebSocket, and reconciliation (GET /orders, at
 * start and after every ticker reconnect, so an update missed while disconnected is not lost).
 * All three go through `apply`, which turns Kite's order and its trades into our lifecycle events
 * with ids derived from what happened, so an update seen twice changes nothing.
 */
import { bodyLimit } from "hono/body-limit";
import { MAX_JSON_DEPTH, tooDeep } from "./api/json.ts";
import type { Hono } from "hono";
import type { Config } from "../src/config.ts";
import { encodeEnvelope } from "../src/events/envelope.ts";
import type { Tick } from "../src/events/payloads.ts";
import { kiteClient } from "../src/kite/connect.ts";
import { verifyPostback } from "../src/kite/rest/postback.ts";
import type { KiteClient } from "../src/kite/rest/client.ts";
import type { KiteOrder } from "../src/kite/rest/schemas.ts";
import { KiteTicker, toMarketTick, type KiteTick } from "../src/kite/ticker/index.ts";
import { lifecycleEvents } from "../src/kite/updates.ts";
import type { Producer } from "../src/log/port.ts";
import type { Logger } from "../src/logger.ts";
import { publishTicks, type FeedStats } from "../src/market/feed.ts";
import type { InstrumentMaster } from "../src/market/instruments.ts";
import { sqlDb } from "../src/store/db.ts";
import { listVenueOrders, setVenueId, setVenueStatus, venueOrderByVenueId } from "../src/store/venue-orders.ts";
import type { Store } from "../src/store/index.ts";
import { bounded, dependencyError } from "../src/errors.ts";
import { renderError } from "./api/errors.ts";
import { errorBody } from "./app.ts";
import { SERVICE_WAIT_MS } from "./services/index.ts";

export interface KiteGateway {
  client: KiteClient;
  /** Applies one of Kite's orders (as in the order book or a postback). */
  apply(order: Pick<KiteOrder, "order_id" | "status" | "status_message" | "filled_quantity">): Promise<number>;
  /** Compares Kite's order book with what we know and publishes what we missed. */
  reconcile(): Promise<number>;
  close(): void;
}

export function kiteGateway(config: NonNullable<Config["kite"]>, store: Store, producer: Producer, logger: Logger): KiteGateway {
  const client = kiteClient(config);
  const log = logger.child({ venue: "kite" });
  const db = sqlDb(store.sql);

  async function apply(order: Pick<KiteOrder, "order_id" | "status" | "status_message" | "filled_quantity">): Promise<number> {
    const row = await venueOrderByVenueId(db, order.order_id);
    if (!row) {
      log.warn({ venue_order_id: order.order_id, status: order.status }, "an update for an order we did not place; ignored");
      return 0;
    }
    const trades = order.filled_quantity > 0 ? await client.orderTrades(order.order_id) : [];
    const events = lifecycleEvents(row, order, trades);
    await producer.send(events.map(({ topic, event }) => ({ topic, key: event.key, value: encodeEnvelope(event) })));
    await setVenueStatus(db, order.order_id, order.status);
    return events.length;
  }

  async function reconcile(): Promise<number> {
    const book = await client.orders();
    const rows = await listVenueOrders(db);
    const byVenueId = new Set(rows.filter((r) => r.venue_order_id).map((r) => String(r.venue_order_id)));
    // Orders whose placement answer was lost are known only by the tag we sent.
    const byTag = new Map(rows.filter((r) => !r.venue_order_id).map((r) => [r.tag, r.order_id]));
    let published = 0;
    for (const o of book) {
      const orderId = o.tag ? byTag.get(o.tag) : undefined;
      if (orderId) {
        await setVenueId(db, orderId, o.order_id);
        byVenueId.add(o.order_id);
      }
      if (byVenueId.has(o.order_id)) published += await apply(o);
    }
    const ours = byVenueId;
    log.info({ orders: book.length, ours: ours.size, events: published }, "reconciled with Kite's order book");
    return published;
  }

  return { client, apply, reconcile, close: () => client.close() };
}

/** POST /api/v1/kite/postback: public (Kite cannot send our API key), the checksum is the proof. */
export function mountPostbacks(app: Hono, apiSecret: string, kite: KiteGateway, logger: Logger): void {
  // Public, so bounded before anything reads it: a postback is a few hundred bytes of flat JSON.
  const tooLarge = bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.json(errorBody("PAYLOAD_TOO_LARGE", "a postback is at most 64 KiB"), 413) });
  app.post("/api/v1/kite/postback", tooLarge, async (c) => {
    const text = await c.req.text();
    if (tooDeep(text, MAX_JSON_DEPTH)) return c.json(errorBody("BAD_POSTBACK", `postback body is nested more than ${MAX_JSON_DEPTH} levels deep`), 400);
    const r = verifyPostback(text, apiSecret);
    if (!r.ok) {
      logger.warn({ reason: r.reason, message: r.message }, "postback refused");
      return c.json(errorBody(r.reason === "bad_checksum" ? "BAD_CHECKSUM" : "BAD_POSTBACK", r.message), r.reason === "bad_checksum" ? 401 : 400);
    }
    try {
      // Bounded, and a dependency down is a 503 with Retry-After (Kite sends the postback again;
      // applying one twice changes nothing).
      const events = await bounded(kite.apply(r.update), SERVICE_WAIT_MS, "TIMEOUT", "apply the postback: a dependency did not answer");
      return c.json({ status: "ok", events });
    } catch (err) {
      return renderError(c, dependencyError(err) ?? err, logger);
    }
  });
}

/**
 * FEED=kite: Kite's ticker into market.ticks. The ticker's callback is synchronous and sends
 * arrive at their own pace, so ticks wait in a map holding the latest per instrument while a send
 * is in flight; a tick replaced before it was sent is counted (`superseded`), never lost unseen.
 */
export class KiteFeed {
  readonly stats: FeedStats & { superseded: number; unpriceable: number; reconnects: number };
  private readonly ticker: KiteTicker;
  private pending = new Map<number, Tick>();
  private sending: Promise<void> | undefined;
  private connectedOnce = false;

  /** `instruments`: what it subscribes (Kite's limit of 3000 on one connection, in master order). */
  constructor(
    config: NonNullable<Config["kite"]>,
    private readonly producer: Producer,
    private readonly kite: KiteGateway | undefined,
    private readonly log: Logger,
    private readonly instruments: InstrumentMaster,
  ) {
    this.stats = { kind: "kite", published: 0, running: false, superseded: 0, unpriceable: 0, reconnects: 0 };
    this.ticker = new KiteTicker(
      { apiKey: config.apiKey, accessToken: config.accessToken ?? "", url: config.tickerUrl },
      {
        onTicks: (ticks: KiteTick[]) => this.take(ticks),
        onOrderUpdate: (order: unknown) => {
          void this.kite?.apply(order as KiteOrder).catch((err: unknown) => this.log.error({ err: (err as Error).message }, "order update from the ticker failed"));
        },
        onConnect: () => {
          if (this.connectedOnce) {
            this.stats.reconnects++;
            void this.kite?.reconcile().catch((err: unknown) => this.log.error({ err: (err as Error).message }, "reconciliation after a reconnect failed"));
          }
          this.connectedOnce = true;
        },
        onError: (err: Error) => {
          this.stats.lastError = err.message;
          this.log.warn({ err: err.message }, "kite ticker");
        },
      },
    );
    this.mode = config.tickerMode;
  }

  private readonly mode: "ltp" | "quote" | "full";

  start(): void {
    this.stats.running = true;
    const tokens = this.instruments
      .all()
      .filter((i) => i.tick_size > 0)
      .map((i) => i.instrument_token)
      .slice(0, 3000);
    this.ticker.subscribe(tokens, this.mode);
    void this.ticker.connect().catch((err: unknown) => {
      this.stats.lastError = (err as Error).message;
      this.stats.running = false;
    });
    this.log.info({ instruments: tokens.length, mode: this.mode }, "kite feed started");
  }

  private take(ticks: KiteTick[]): void {
    const now = new Date();
    for (const t of ticks) {
      const tick = toMarketTick(t, now);
      if (!tick) {
        this.stats.unpriceable++;
        continue;
      }
      if (this.pending.has(tick.instrument_token)) this.stats.superseded++;
      this.pending.set(tick.instrument_token, tick);
    }
    this.sending ??= this.flush();
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const batch = [...this.pending.values()];
        this.pending = new Map();
        await publishTicks(this.producer, batch, "feed.kite");
        this.stats.published += batch.length;
      }
    } catch (err) {
      this.stats.lastError = (err as Error).message;
      this.log.error({ err: (err as Error).message }, "kite ticks could not be published");
    } finally {
      this.sending = undefined;
    }
  }

  async stop(): Promise<void> {
    this.ticker.close();
    await this.sending;
    this.stats.running = false;
  }
}
