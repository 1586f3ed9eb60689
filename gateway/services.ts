/**
 * The gateway's Services (gateway/api/services.ts) over the log, the store and the cache.
 * Orders placed through the API are written to the orders table (PENDING, with their
 * client_order_id under a unique index, so a repeat returns the first order) together with an
 * outbox row, in one statement, and then published to `{broker}.signals.raw` like any strategy's
 * signal, by the order relay (gateway/outbox.ts): an acknowledged order is sent at least once
 * whatever crashes. Every call is bounded, and a dependency down is a retryable error (a 503).
 * Everything else reads the read models.
 * Pushes for WebSocket subscribers come from a consumer of this process's own (a group per
 * process, starting at the end), so every gateway process pushes to its own clients.
 */
import type { Cache } from "../src/cache/port.ts";
import type { Broker, Config } from "../src/config.ts";
import { createEvent, decodeEnvelope, encodeEnvelope, newId, type Envelope } from "../src/events/envelope.ts";
import { AlphaError, bounded, dependencyError } from "../src/errors.ts";
import type { Consumer, Log, LogMessage, Producer } from "../src/log/port.ts";
import type { Logger } from "../src/logger.ts";
import { publishTicks } from "../src/market/feed.ts";
import { NSE_MASTER, type InstrumentMaster } from "../src/market/instruments.ts";
import { DEFAULT_LIMITS, parseLimits } from "../src/risk/index.ts";
import { compileStrategy } from "../src/strategies/index.ts";
import type { Position } from "../src/portfolio/index.ts";
import { readBuiltPositions, totalsOf } from "../src/portfolio/read-model.ts";
import { strategyDefOf } from "../src/store/controls.ts";
import { prepared } from "../src/store/db.ts";
import { storeError } from "../src/store/errors.ts";
import type { Store } from "../src/store/index.ts";
import { insertOrder, ORDER_COLUMNS, orderByClientId, voidOrder } from "../src/store/outbox.ts";
import { withinStore } from "../src/store/wait.ts";
import { OrderRelay, type RelayOptions } from "./outbox.ts";
import type { ControlPlane } from "./control.ts";
import { sendControl, type ControlCommand } from "../src/control/index.ts";
import { topicName } from "../src/topics.ts";
import { ApiError } from "./api/errors.ts";
import type { OrderQuery, OrderView, PlaceOrder, PortfolioView, PositionView, RiskView, Services, StrategyView, TradingState } from "./api/services.ts";

type Row = Record<string, unknown>;

const TICKS_TOPIC = topicName("marketTicks");
/** How long the tick consumer stays after the last tick subscription ends (a resubscribe is cheap). */
export const TICKS_LINGER_MS = 30_000;
/** How long after the tick consumer failed it is started again, while watches are held. */
const TICKS_RESTART_MS = 1_000;

const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));

function orderView(r: Row): OrderView {
  const filled = Number(r.filled_quantity);
  const value = Number(r.filled_value);
  return {
    order_id: String(r.order_id),
    broker: r.broker as Broker,
    strategy_id: String(r.strategy_id),
    instrument_token: Number(r.instrument_token),
    side: r.side as OrderView["side"],
    quantity: Number(r.quantity),
    filled_quantity: filled,
    order_type: r.order_type as OrderView["order_type"],
    price: num(r.price),
    trigger_price: num(r.trigger_price),
    // Integer division: the average fill price in whole paise, rounded half up.
    average_price: filled > 0 ? Math.floor((value * 2 + filled) / (2 * filled)) : undefined,
    status: r.status as OrderView["status"],
    reason_code: (r.reason_code as string | null) ?? undefined,
    message: (r.message as string | null) ?? undefined,
    client_order_id: (r.client_order_id as string | null) ?? undefined,
    correlation_id: String(r.correlation_id),
    created_at: new Date(r.created_at as string).toISOString(),
    updated_at: new Date(r.updated_at as string).toISOString(),
  };
}

/**
 * POST /orders answers within 2 s whatever is down. Its budget: the insert's wait, then (when it
 * had no answer) a short wait more for its outcome; then the first send's.
 */
export const PLACE_STORE_WAIT_MS = 1_000;
export const PLACE_DOUBT_WAIT_MS = 300;
export const PLACE_SEND_WAIT_MS = 400;
/** How long a cancel or a tick waits for the log before answering 503. */
export const LOG_WAIT_MS = 1_500;
/** The bound on any service call: past it the API answers 503 (TIMEOUT) rather than hang. */
export const SERVICE_WAIT_MS = 1_900;
/** How long an insert in doubt is tried to be undone (while the database is down). */
const VOID_TRY_MS = 300_000;

/** Errors that prove a statement never reached the server (so it cannot have committed). */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "CONNECT_TIMEOUT", "CONNECTION_DESTROYED", "CONNECTION_ENDED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
const neverSent = (err: unknown): boolean => {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === "string" && NOT_SENT_CODES.has(c);
};

const sleep = (ms: number) => new Promise<undefined>((r) => setTimeout(() => r(undefined), ms));
/** `p`'s value, or undefined once `ms` pass first (the timer cleared either way: one per order). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: Timer | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Channels a push goes to, from the envelope. */
export function channelsOf(topic: string, e: Envelope): string[] {
  if (e.type === "market.tick") return [`ticks.${(e.data as { instrument_token: number }).instrument_token}`];
  if (e.broker === "shared") return [];
  if (e.type === "pnl.snapshot") return [`portfolio.${e.broker}`];
  if (e.type.startsWith("signal.")) return [`signals.${e.broker}`];
  if (e.type.startsWith("order.") && topic.includes(".orders.")) return [`orders.${e.broker}`];
  return [];
}

/** Same strings in the same order (a cache that answers with the same instances compares by pointer). */
function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface ServicesDeps {
  config: Config;
  log: Log;
  producer: Producer;
  store: Store;
  cache: Cache;
  logger: Logger;
  /** How long the tick consumer stays after the last watch ends (default TICKS_LINGER_MS). */
  ticksLingerMs?: number;
  /** The control plane (gateway/control.ts); without it the control calls answer 503 (tests of other services). */
  controls?: ControlPlane;
  /** The order relay's settings (gateway/outbox.ts); tests shorten them. */
  relay?: Partial<Omit<RelayOptions, "sql" | "producer" | "logger">>;
  /** The process's instrument master (default: the built-in NSE list, for tests of other services). */
  instruments?: InstrumentMaster;
}

export function createServices(d: ServicesDeps): Services & { start(): Promise<void>; close(): Promise<void>; relay: OrderRelay } {
  const sql = d.store.sql;
  const instruments = d.instruments ?? NSE_MASTER;
  const active = d.config.activeBrokers;
  const sendTimeoutMs = d.config.orderSendTimeoutMs ?? 30_000;
  const relay = new OrderRelay({ sql, producer: d.producer, logger: d.logger, ...d.relay });
  let closed = false;
  /** Undos of inserts in doubt still running: close waits for them (bounded). */
  const undos = new Set<Promise<void>>();
  /** Listener → which channels it has subscribers for (unknown: all of them). */
  const listeners = new Map<(channel: string, e: Envelope) => void, ((channel: string) => boolean) | undefined>();
  /** Whether any listener wants `channel`. */
  const wanted = (channel: string) => {
    for (const wants of listeners.values()) if (!wants || wants(channel)) return true;
    return false;
  };
  /** Per broker: the positions hash's values the last portfolio view was made from, and that view (frozen, shared). */
  const lastPortfolio = new Map<Broker, { raw: string[]; view: PortfolioView }>();
  const pushTopics = active.flatMap((b) =>
    (["signalsValidated", "signalsRejected", "ordersSubmitted", "ordersFilled", "ordersRejected", "ordersCancelled", "ordersFailed", "pnlSnapshots"] as const).map((id) => topicName(id, b)),
  );
  const fanout = d.log.consumer({ groupId: `alpha-panda.gateway.${newId()}`, topics: pushTopics, startFrom: "latest", clientId: "gateway-fanout" });

  /** Decodes a batch and hands each event to every listener, on each of its channels. */
  async function push(batch: readonly LogMessage[]): Promise<void> {
    if (listeners.size === 0) return;
    for (const m of batch) {
      // A tick's channel is its key (its instrument token): ticks nobody watches are not even
      // decoded (few are watched).
      if (m.topic === TICKS_TOPIC && !wanted(`ticks.${m.key}`)) continue;
      let e: Envelope;
      try {
        e = decodeEnvelope(m.value);
      } catch {
        continue;
      }
      for (const channel of channelsOf(m.topic, e)) for (const l of listeners.keys()) l(channel, e);
    }
  }

  /**
   * Ticks are consumed here only while someone watches them: every tick would otherwise be fetched
   * and read by this process (a fifth of the log traffic of a pipeline with four stages) for
   * WebSocket subscribers that mostly do not exist. The consumer starts with the first watch, at the
   * end of market.ticks, and stops TICKS_LINGER_MS after the last watch ends.
   */
  const ticks = { watchers: 0, consumer: undefined as Promise<Consumer> | undefined, stopTimer: undefined as Timer | undefined, closed: false };
  function startTicks(): Promise<Consumer> {
    const consumer = d.log.consumer({ groupId: `alpha-panda.gateway.ticks.${newId()}`, topics: [TICKS_TOPIC], startFrom: "latest", clientId: "gateway-ticks" });
    const started = consumer.run(push).then(() => consumer);
    ticks.consumer = started;
    consumer.done.catch((err: unknown) => {
      if (ticks.consumer !== started) return;
      ticks.consumer = undefined;
      d.logger.error({ err: (err as Error).message, retry_in_ms: TICKS_RESTART_MS }, "the WebSocket tick consumer stopped; starting it again");
      // Watches already held keep their subscribers: the consumer comes back for them.
      setTimeout(() => {
        if (ticks.watchers > 0 && !ticks.consumer && !ticks.closed) startTicks().catch(() => {});
      }, TICKS_RESTART_MS);
    });
    started.catch(() => {
      if (ticks.consumer === started) ticks.consumer = undefined;
    });
    return started;
  }
  async function stopTicks(): Promise<void> {
    const c = ticks.consumer;
    ticks.consumer = undefined;
    clearTimeout(ticks.stopTimer);
    await c?.then((consumer) => consumer.close()).catch(() => {});
  }
  async function watchTicks(): Promise<() => void> {
    if (ticks.closed) throw new AlphaError("LOG_CLOSED", "the gateway is shutting down");
    ticks.watchers++;
    clearTimeout(ticks.stopTimer);
    try {
      await (ticks.consumer ?? startTicks());
    } catch (err) {
      ticks.watchers--;
      throw err;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--ticks.watchers === 0 && !ticks.closed) ticks.stopTimer = setTimeout(() => void stopTicks(), d.ticksLingerMs ?? TICKS_LINGER_MS);
    };
  }

  // Statements with parameters are prepared (src/store/db.ts `prepared`).
  async function getOrder(orderId: string): Promise<OrderView | undefined> {
    const [r] = await withinStore(prepared(sql, `select ${ORDER_COLUMNS} from orders where order_id = $1`, [orderId]), "cannot read the order");
    return r ? orderView(r) : undefined;
  }

  async function risk(broker: Broker): Promise<RiskView> {
    const [r] = await withinStore(
      prepared(
        sql,
        `select t.state, t.reason, l.limits, greatest(t.updated_at, l.updated_at) as updated_at
           from trading_state t left join risk_limits l using (broker) where t.broker = $1`,
        [broker],
      ),
      "cannot read the risk settings",
    );
    return {
      broker,
      state: (r?.state ?? "ACTIVE") as TradingState,
      reason: r?.reason ?? undefined,
      limits: { ...DEFAULT_LIMITS, ...((r?.limits as Record<string, number> | null) ?? {}) },
      updated_at: r?.updated_at ? new Date(r.updated_at).toISOString() : undefined,
    };
  }

  /** The control plane this process projects with (gateway/control.ts; the gateway starts it before the stages). */
  const plane = async (): Promise<ControlPlane> => {
    if (!d.controls) throw new AlphaError("LOG_UNAVAILABLE", "this gateway does not read the control topics", { canRetry: true });
    return d.controls;
  };

  /** The brokers of this gateway a strategy's command goes to; one it does not run has no control topic here. */
  function controlBrokers(brokers: readonly Broker[]): Broker[] {
    const here = brokers.filter((b) => active.includes(b));
    if (here.length === 0) {
      throw new AlphaError("PAYLOAD_INVALID", `brokers: ${brokers.join(", ")} not run by this gateway (ACTIVE_BROKERS is ${active.join(", ")})`, {
        details: [{ path: "brokers", message: `none of ${brokers.join(", ")} is an active broker (${active.join(", ")})` }],
      });
    }
    return here;
  }

  /**
   * A control: written to each broker's control topic, answered once the log acknowledged it
   * (LOG_UNAVAILABLE, a 503, when it does not within LOG_WAIT_MS) and this process projected it,
   * so a read after the answer sees it. Applied by every stage in log order from then on.
   */
  async function command(brokers: readonly Broker[], cmd: ControlCommand, what: string): Promise<void> {
    const c = await plane();
    await bounded(
      Promise.all(brokers.map((b) => sendControl(d.producer, b, cmd, "gateway.api"))),
      LOG_WAIT_MS,
      "LOG_UNAVAILABLE",
      `cannot ${what}: the log did not acknowledge the command, so nothing changed`,
    );
    await c.caughtUp();
  }

  /** A statement with a bounded wait: STORE_UNAVAILABLE (a 503) when the database is down or stalled. */
  const q = (text: string, params: readonly unknown[]) => withinStore(prepared(sql, text, params), "cannot reach the database");

  /**
   * Waits for an order's insert, within the POST's budget. When it has no answer in time its
   * outcome is awaited a little longer: committed → the order is durable, the answer 202; failed →
   * 503, no order. Still no outcome, or a connection lost mid-statement, is in doubt: the answer
   * is 503, and the order is undone in the background (`undo`) so that a 503 never leaves an order
   * behind, unless a retry with its client_order_id adopts it first.
   */
  async function durable(query: ReturnType<typeof insertOrder>, orderId: string) {
    const settled = query.then(
      (rows) => ({ rows }),
      (err: unknown) => ({ err }),
    );
    const r = (await within(settled, PLACE_STORE_WAIT_MS)) ?? (await within(settled, PLACE_DOUBT_WAIT_MS));
    if (r && "rows" in r) return r.rows;
    // Never reached the server, or cancelled by the server before it committed (57014), or
    // refused by it (a bug, bad data): no order.
    if (r && (neverSent(r.err) || (r.err as { code?: unknown } | null)?.code === "57014")) {
      throw new AlphaError("STORE_UNAVAILABLE", `cannot place the order: database unavailable: ${(r.err as Error).message}`, { canRetry: true, cause: r.err });
    }
    if (r && !(storeError(r.err, "") instanceof AlphaError)) throw r.err;
    relay.hold(orderId);
    const undoing = settled.then(() => undo(orderId));
    undos.add(undoing);
    void undoing.finally(() => undos.delete(undoing));
    throw new AlphaError("STORE_UNAVAILABLE", "cannot place the order: the database did not confirm it in time, so it was not accepted", { canRetry: true, cause: r?.err });
  }

  /** Removes an order whose insert was in doubt when the API answered 503, once the database answers. */
  async function undo(orderId: string): Promise<void> {
    const until = Date.now() + VOID_TRY_MS;
    while (Date.now() < until && !closed && relay.isHeld(orderId)) {
      try {
        if (await withinStore(voidOrder(sql, orderId), "undo an order in doubt", 5_000)) {
          d.logger.warn({ order_id: orderId }, "removed an order whose insert was confirmed after the API answered 503");
        }
        relay.release(orderId);
        return;
      } catch {
        await sleep(1_000);
      }
    }
  }

  return guarded({
    activeBrokers: active,

    relay,
    async start() {
      // The relay first: orders a crash left unsent go out at start.
      relay.start();
      await fanout.run(push);
    },
    async close() {
      ticks.closed = true;
      // An insert in doubt left behind would be sent by the next relay: give its undo a moment.
      await Promise.race([Promise.allSettled([...undos]), sleep(2_000)]);
      closed = true;
      await Promise.all([fanout.close(), stopTicks(), relay.close()]);
    },

    orders: {
      async place(cmd: PlaceOrder) {
        const t0 = Date.now();
        const orderId = newId();
        const key = String(cmd.instrument_token);
        const expiresAt = t0 + sendTimeoutMs;
        const event = createEvent(
          {
            type: "signal.generated",
            source: "gateway",
            broker: cmd.broker,
            key,
            data: {
              signal_id: orderId,
              strategy_id: cmd.strategy_id,
              instrument_token: cmd.instrument_token,
              side: cmd.side,
              quantity: cmd.quantity,
              order_type: cmd.order_type,
              ...(cmd.price !== undefined ? { price: cmd.price } : {}),
              ...(cmd.trigger_price !== undefined ? { trigger_price: cmd.trigger_price } : {}),
              ...(cmd.product ? { product: cmd.product } : {}),
              ...(cmd.client_order_id ? { client_order_id: cmd.client_order_id } : {}),
              expires_at: new Date(expiresAt).toISOString(),
            },
          },
          {},
        );
        const message = { event_id: event.id, order_id: orderId, topic: topicName("signalsRaw", cmd.broker), key, envelope: encodeEnvelope(event), expires_at: expiresAt };
        // The order, its first event and its outbox row in one statement (one round trip, one
        // transaction); nothing when the client_order_id is taken.
        const inserted = await durable(
          insertOrder(sql, { ...cmd, order_id: orderId, correlation_id: event.correlation_id }, { event_id: event.id, type: event.type, ts: event.ts, data: event.data }, message, relay.leaseMs),
          orderId,
        );
        if (inserted.length === 0) {
          // The client_order_id is taken: that order is the answer. Not sent yet (a crash, the log
          // down): a retry asks for it to be sent now.
          const wait = Math.max(100, SERVICE_WAIT_MS - 200 - (Date.now() - t0));
          const [r] = await withinStore(orderByClientId(sql, cmd.broker, cmd.client_order_id ?? ""), "cannot read the order with this client_order_id", wait);
          // Gone between the insert and this read: an insert in doubt undone meanwhile. Retrying
          // places it afresh.
          if (!r) throw new AlphaError("STORE_UNAVAILABLE", "cannot place the order: the order with this client_order_id was being undone; retry", { canRetry: true });
          if (r.unsent) {
            // A retry of an order whose insert was in doubt adopts it: it is sent, not undone.
            relay.release(String(r.order_id));
            relay.resend(String(r.order_id)).catch((err: unknown) => d.logger.warn({ err: (err as Error).message, order_id: r.order_id }, "could not claim a retried order's send; the relay sends it"));
          }
          return { order: orderView(r), created: false };
        }
        // The order is durable: the answer is 202 whatever happens to this send (the relay sends
        // it again until the log has it or its deadline passes).
        await relay.sendNow(message, PLACE_SEND_WAIT_MS);
        return { order: orderView(inserted[0]!), created: true };
      },

      async list(q: OrderQuery) {
        const where: string[] = [];
        const params: unknown[] = [];
        const add = (cond: string, v: unknown) => {
          params.push(v);
          where.push(cond.replace("?", `$${params.length}`));
        };
        if (q.broker) add("broker = ?", q.broker);
        if (q.status) add("status = ?", q.status);
        if (q.strategy_id) add("strategy_id = ?", q.strategy_id);
        if (q.cursor) {
          const seq = Number(Buffer.from(q.cursor, "base64url").toString());
          if (!/^[A-Za-z0-9_-]+$/.test(q.cursor) || !Number.isSafeInteger(seq) || seq <= 0) {
            throw new AlphaError("PAYLOAD_INVALID", "cursor: not a cursor this API gave out", { details: [{ path: "cursor", message: "cursor: not a cursor this API gave out" }] });
          }
          add("seq < ?", seq);
        }
        params.push(q.limit + 1);
        const rows = await withinStore(
          prepared(sql, `select ${ORDER_COLUMNS} from orders ${where.length ? `where ${where.join(" and ")}` : ""} order by seq desc limit $${params.length}`, params as never[]),
          "cannot list orders",
        );
        const page = rows.slice(0, q.limit);
        const next = rows.length > q.limit ? Buffer.from(String(page[page.length - 1]!.seq)).toString("base64url") : null;
        return { orders: page.map(orderView), next_cursor: next };
      },

      async get(orderId: string) {
        const order = await getOrder(orderId);
        if (!order) return undefined;
        // Events of one step share a millisecond (submitted and filled at once): within it, the
        // lifecycle's own order decides.
        const events = await withinStore(
          prepared(
            sql,
            `select event_id::text as id, type, ts, data from order_events where order_id = $1
              order by ts, case type when 'signal.generated' then 0 when 'signal.validated' then 1 when 'signal.rejected' then 1
                                     when 'order.submitted' then 2 when 'order.filled' then 3 else 4 end, event_id`,
            [orderId],
          ),
          "cannot read the order's events",
        );
        order.events = events.map((e) => ({ id: String(e.id), type: String(e.type), ts: new Date(e.ts).toISOString(), data: e.data }));
        return order;
      },

      async cancel(orderId: string) {
        const order = await getOrder(orderId);
        if (!order) return undefined;
        if (["FILLED", "REJECTED", "CANCELLED", "FAILED"].includes(order.status)) {
          throw new AlphaError("CONFLICT", `order ${orderId} is ${order.status}: only an open order can be cancelled`);
        }
        const key = String(order.instrument_token);
        const e = createEvent({ type: "order.cancel", source: "gateway", broker: order.broker, key, data: { order_id: orderId, instrument_token: order.instrument_token, reason: "cancelled through the API" } }, { correlation_id: order.correlation_id });
        // A cancel that reaches the log after our 503 is harmless: cancelling twice is a no-op.
        await bounded(d.producer.send([{ topic: topicName("orderCommands", order.broker), key, value: encodeEnvelope(e) }]), LOG_WAIT_MS, "LOG_UNAVAILABLE", "cannot send the cancel: the log did not answer");
        return order;
      },
    },

    portfolios: {
      async get(broker: Broker) {
        // The read model is the cache; the view is remade only when a position in it changed
        // (a portfolio is read far more often than it changes, and parsing is most of a read).
        // Not whole yet (before the portfolio stage's first rebuild, or after the cache lost it):
        // a 503, never the starting cash with no positions as if that were the portfolio.
        const built = await readBuiltPositions(d.cache, broker);
        if (!built) {
          throw new ApiError("READ_MODEL_REBUILDING", `the ${broker} portfolio is being rebuilt from the ledger (the cache does not hold it yet); retry in a second`, {
            status: 503,
            headers: { "Retry-After": "1" },
          });
        }
        const raw = Object.values(built);
        const last = lastPortfolio.get(broker);
        if (last && sameStrings(last.raw, raw)) return last.view;
        const positions = raw.map((v) => JSON.parse(v) as Position);
        const t = totalsOf(positions, d.config.startingCash);
        const view: PortfolioView = Object.freeze({
          broker,
          cash: t.cash,
          realised_pnl: t.realised_pnl,
          unrealised_pnl: t.unrealised_pnl,
          fees: t.fees,
          positions: Object.freeze(
            positions
              .filter((p) => p.quantity !== 0 || p.realised_pnl !== 0)
              .map((p) =>
                Object.freeze({
                  strategy_id: p.strategy_id,
                  instrument_token: p.instrument_token,
                  quantity: p.quantity,
                  average_price: p.average_price,
                  last_price: p.last_price,
                  realised_pnl: p.realised_pnl,
                  unrealised_pnl: p.unrealised_pnl,
                  fees: p.fees,
                }),
              ),
          ) as PositionView[],
        });
        lastPortfolio.set(broker, { raw, view });
        return view;
      },
      async trades(broker: Broker, limit: number) {
        const rows = await prepared(
          sql,
          `select event_id::text, fill_id, order_id, strategy_id, instrument_token::text, side, quantity, price::text, fees::text, filled_at
             from ledger_fills where broker = $1 order by seq desc limit $2`,
          [broker, limit],
        );
        return rows.map((r) => ({
          fill_id: String(r.fill_id),
          event_id: String(r.event_id),
          order_id: String(r.order_id),
          broker,
          strategy_id: String(r.strategy_id),
          instrument_token: Number(r.instrument_token),
          side: r.side,
          quantity: Number(r.quantity),
          price: Number(r.price),
          fees: Number(r.fees),
          ts: new Date(r.filled_at).toISOString(),
        }));
      },
    },

    strategies: {
      async list() {
        const rows = await q(`select id, kind, params, instruments::text[] as instruments, brokers, enabled, created_at, updated_at from strategies order by id`, []);
        return rows.map(strategyView);
      },
      async create(s: StrategyView) {
        checkStrategy(s);
        const [exists] = await q(`select 1 from strategies where id = $1`, [s.id]);
        if (exists) throw new AlphaError("CONFLICT", `strategy ${s.id} exists already`);
        const def = { id: s.id, kind: s.kind, params: s.params, instruments: s.instruments, brokers: s.brokers, enabled: s.enabled };
        await command(controlBrokers(s.brokers), { type: "control.strategy", data: def }, "create the strategy");
        const [row] = await q(`select id, kind, params, instruments::text[] as instruments, brokers, enabled, created_at, updated_at from strategies where id = $1`, [s.id]);
        return row ? strategyView(row) : { ...def };
      },
      async update(id, patch) {
        const [current] = await q(`select id, kind, params, instruments::text[] as instruments, brokers, enabled from strategies where id = $1`, [id]);
        if (!current) return undefined;
        const was = strategyView(current);
        const def = {
          id,
          kind: patch.kind ?? was.kind,
          params: patch.params ?? was.params,
          instruments: patch.instruments ?? was.instruments,
          brokers: patch.brokers ?? was.brokers,
          enabled: patch.enabled ?? was.enabled,
        };
        if (patch.kind !== undefined || patch.params !== undefined) checkStrategy(def);
        // To the brokers it traded before and after: one it leaves learns it no longer trades there.
        await command(controlBrokers([...new Set([...was.brokers, ...def.brokers])]), { type: "control.strategy", data: def }, "update the strategy");
        const [row] = await q(`select id, kind, params, instruments::text[] as instruments, brokers, enabled, created_at, updated_at from strategies where id = $1`, [id]);
        return row ? strategyView(row) : undefined;
      },
    },

    risk: {
      get: risk,
      async putLimits(broker, limits) {
        // A partial update: the named limits over the current ones (the log's), validated together.
        const c = await plane();
        await c.caughtUp();
        const parsed = parseLimits(limits, c.reader.state(broker).limits.limits);
        await command([broker], { type: "control.limits", data: { limits: parsed } }, "set the limits");
        return risk(broker);
      },
      async setState(broker, state, reason) {
        await command([broker], { type: "control.trading_state", data: { state, reason: reason ?? "" } }, "set the trading state");
        return risk(broker);
      },
    },

    instruments: { list: instruments.all, byToken: instruments.byToken, bySymbol: instruments.bySymbol },

    ticks: {
      // Ticks that reach the log after our 503 are harmless: a tick only sets the last price.
      publish: (ticks) => bounded(publishTicks(d.producer, ticks, "gateway.api"), LOG_WAIT_MS, "LOG_UNAVAILABLE", "cannot publish the ticks: the log did not answer"),
    },

    events: {
      subscribe(listener, wants) {
        listeners.set(listener, wants);
        return () => listeners.delete(listener);
      },
      watchTicks,
    },
  });
}

/**
 * Every call the API makes that waits on a dependency answers within SERVICE_WAIT_MS, and every
 * dependency failure leaves as a retryable AlphaError (a 503), whatever raised it: the calls with
 * a bound of their own (orders, strategies, risk) keep their codes; the rest (portfolio reads from
 * the cache and the ledger, the tick consumer's start) get this one. `orders.place` is left alone:
 * its answer must match what happened to the order, and it keeps its own budget.
 */
function guarded<S extends Services>(s: S): S {
  const wrap = <F extends (...args: never[]) => Promise<unknown>>(f: F, what: string): F =>
    (async (...args: Parameters<F>) => {
      try {
        return await bounded(f(...args), SERVICE_WAIT_MS, "TIMEOUT", `${what}: a dependency did not answer`);
      } catch (err) {
        throw dependencyError(err) ?? err;
      }
    }) as F;
  const o = s.orders;
  const p = s.portfolios;
  const st = s.strategies;
  const r = s.risk;
  return {
    ...s,
    orders: { place: o.place, list: wrap(o.list, "list orders"), get: wrap(o.get, "read the order"), cancel: wrap(o.cancel, "cancel the order") },
    portfolios: { ...p, get: wrap(p.get, "read the portfolio"), trades: wrap(p.trades, "read the trades") },
    strategies: { list: wrap(st.list, "list strategies"), create: wrap(st.create, "create the strategy"), update: wrap(st.update, "update the strategy") },
    risk: { ...r, get: wrap(r.get, "read the risk settings"), putLimits: wrap(r.putLimits, "set the limits"), setState: wrap(r.setState, "set the trading state") },
    ticks: { ...s.ticks, publish: wrap(s.ticks.publish, "publish the ticks") },
    events: {
      ...s.events,
      async watchTicks() {
        const watching = s.events.watchTicks();
        try {
          return await bounded(watching, SERVICE_WAIT_MS, "LOG_UNAVAILABLE", "watch ticks: the log did not answer");
        } catch (err) {
          // A watch that starts after we gave up is let go at once, or the consumer would stay.
          watching.then((release) => release(), () => {});
          throw dependencyError(err) ?? err;
        }
      },
    },
  };
}

/** A strategy's kind and params are checked with the same code the strategy stage runs. */
function checkStrategy(s: Pick<StrategyView, "id" | "kind" | "params">): void {
  const compiled = compileStrategy(s.id, s.kind, s.params);
  if (Array.isArray(compiled)) {
    throw new AlphaError("PAYLOAD_INVALID", compiled.map((p) => `${p.path}: ${p.message}`).join("; "), { details: compiled });
  }
}

function strategyView(r: Row): StrategyView {
  return {
    ...strategyDefOf(r),
    created_at: r.created_at ? new Date(r.created_at as string).toISOString() : undefined,
    updated_at: r.updated_at ? new Date(r.updated_at as string).toISOString() : undefined,
  };
}
