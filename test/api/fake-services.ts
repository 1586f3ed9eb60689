/**
 * An in-memory Services that behaves like the real one where the API can tell: client_order_id
 * idempotency, newest-first cursor paging (a bad cursor is PAYLOAD_INVALID), CONFLICT on a
 * duplicate strategy or a cancel of a finished order, and an event bus the test drives.
 * `failWith(err)` makes every call throw until cleared, for the 503 paths.
 */
import type { Broker } from "../../src/config.ts";
import { createEvent, type Envelope } from "../../src/events/envelope.ts";
import type { Tick } from "../../src/events/payloads.ts";
import { AlphaError, type ErrorCode } from "../../src/errors.ts";
import { SHIPPED_CALENDAR } from "../../src/market/calendar.ts";
import { NSE_INSTRUMENTS, type Instrument } from "../../src/market/instruments.ts";
import type {
  CancelAllFilter,
  ModifyOrder,
  OrderView,
  PlaceOrder,
  PipelineView,
  PortfolioView,
  RiskLimits,
  RiskView,
  Services,
  StrategyView,
  TradeView,
} from "../../gateway/api/services.ts";
import { makeToken, webhookPath, withDefaults, type WebhookView } from "../../gateway/webhooks/index.ts";

/** A future with a lot size of 25 and a tick of 0.05, for the lot-size rules. */
export const NIFTY_FUT: Instrument = {
  instrument_token: 13_368_834,
  exchange: "NFO",
  tradingsymbol: "NIFTY25JANFUT",
  name: "NIFTY",
  tick_size: 5,
  lot_size: 25,
  reference_price: 2_345_000,
};

const INSTRUMENTS: readonly Instrument[] = [...NSE_INSTRUMENTS, NIFTY_FUT];

// Not yet in src/errors.ts's list; the services raise them by these names.
const CONFLICT = "CONFLICT" as ErrorCode;

const TERMINAL = new Set(["FILLED", "REJECTED", "CANCELLED", "FAILED"]);

export class FakeServices implements Services {
  activeBrokers: readonly Broker[] = ["paper"];
  failure: Error | undefined;
  readonly published: Tick[][] = [];
  private readonly listeners = new Set<(channel: string, event: Envelope) => void>();
  private readonly orderList: OrderView[] = [];
  private readonly byClientId = new Map<string, OrderView>();
  private readonly strategyMap = new Map<string, StrategyView>();
  private readonly riskMap = new Map<Broker, RiskView>();
  portfolio: PortfolioView = {
    broker: "paper",
    cash: 98_754_321,
    realised_pnl: -1_250,
    unrealised_pnl: 4_005,
    fees: 2_360,
    positions: [
      { strategy_id: "momentum_fast", instrument_token: 738561, quantity: 10, average_price: 245_135, last_price: 245_535, realised_pnl: -1_250, unrealised_pnl: 4_005, fees: 2_360 },
    ],
    updated_at: "2025-01-02T09:20:00.000Z",
  };
  tradeList: TradeView[] = [
    { fill_id: "f1", event_id: "e1", order_id: "o1", broker: "paper", strategy_id: "momentum_fast", instrument_token: 738561, side: "BUY", quantity: 10, price: 245_135, fees: 2_360, ts: "2025-01-02T09:16:00.000Z" },
    { fill_id: "f2", event_id: "e2", order_id: "o2", broker: "paper", strategy_id: "momentum_fast", instrument_token: 738561, side: "SELL", quantity: 5, price: 245_000, fees: 1_180, ts: "2025-01-02T09:18:00.000Z" },
  ];

  constructor() {
    this.strategyMap.set("momentum_fast", { id: "momentum_fast", kind: "momentum", params: { lookback: 20 }, instruments: [738561], brokers: ["paper"], enabled: true });
    for (const broker of ["paper", "zerodha"] as const) {
      this.riskMap.set(broker, {
        broker,
        state: "ACTIVE",
        limits: { max_order_quantity: 1_000, max_order_notional: 10_00_000_00, price_band_fraction: 0.05, max_daily_loss: 50_000_00 },
      });
    }
  }

  pipelineView: PipelineView = {
    stages: [{ name: "risk", state: "running", running: true, restarts: 1, partitions: 6, handled: 1_234, produced: 56, rate_per_s: 12, lag: 3, dead_letters: 1 }],
    tick_to_fill_ms: { p50: 1.25, p99: 4.5, count: 42 },
    dlq: [{ topic: "paper.signals.raw.dlq", depth: 1 }],
  };

  pipeline: Services["pipeline"] = {
    status: async () => {
      await this.guard();
      return this.pipelineView;
    },
  };

  /** Webhooks by token, as the store keeps them by hash (gateway/webhooks/service.ts). */
  private readonly webhookMap = new Map<string, WebhookView>();

  webhooks: Services["webhooks"] = {
    create: async (strategyId, rule) => {
      await this.guard();
      if (!this.strategyMap.has(strategyId)) return undefined;
      const token = makeToken();
      const webhook: WebhookView = { id: crypto.randomUUID(), strategy_id: strategyId, rule, created_at: new Date().toISOString(), revoked_at: null };
      this.webhookMap.set(token, webhook);
      return { webhook, token, path: webhookPath(token) };
    },
    list: async (strategyId) => {
      await this.guard();
      return this.strategyMap.has(strategyId) ? [...this.webhookMap.values()].filter((w) => w.strategy_id === strategyId) : undefined;
    },
    revoke: async (strategyId, webhookId) => {
      await this.guard();
      const found = [...this.webhookMap.values()].find((w) => w.id === webhookId && w.strategy_id === strategyId && w.revoked_at === null);
      if (found) found.revoked_at = new Date().toISOString();
      return found;
    },
    resolve: async (token) => {
      await this.guard();
      const w = this.webhookMap.get(token);
      const strategy = w && this.strategyMap.get(w.strategy_id);
      if (!w || w.revoked_at !== null) return undefined;
      return { id: w.id, strategy_id: w.strategy_id, rule: withDefaults(w.rule), ...(strategy ? { strategy: { enabled: strategy.enabled, brokers: strategy.brokers } } : {}) };
    },
  };

  /** Delivers an event to every listener, as the runtime does for each pushed envelope. */
  emit(channel: string, event: Envelope): void {
    for (const l of this.listeners) l(channel, event);
  }

  listenerCount(): number {
    return this.listeners.size;
  }

  private async guard(): Promise<void> {
    if (this.failure) throw this.failure;
  }

  /** Every order the API asked to place, as it asked. */
  placeCommands: PlaceOrder[] = [];

  orders: Services["orders"] = {
    place: async (cmd) => {
      await this.guard();
      this.placeCommands.push(cmd);
      const key = cmd.client_order_id === undefined ? undefined : `${cmd.broker}:${cmd.client_order_id}`;
      const seen = key === undefined ? undefined : this.byClientId.get(key);
      if (seen) return { order: seen, created: false };
      const now = new Date().toISOString();
      const submitted = createEvent({ type: "signal.generated", source: "gateway", broker: cmd.broker, key: String(cmd.instrument_token), data: { signal_id: "s", strategy_id: cmd.strategy_id, instrument_token: cmd.instrument_token, side: cmd.side, quantity: cmd.quantity, order_type: cmd.order_type, price: cmd.price, ...(cmd.product ? { product: cmd.product } : {}) } });
      const order: OrderView = {
        order_id: Bun.randomUUIDv7(),
        broker: cmd.broker,
        strategy_id: cmd.strategy_id,
        instrument_token: cmd.instrument_token,
        side: cmd.side,
        quantity: cmd.quantity,
        filled_quantity: 0,
        order_type: cmd.order_type,
        price: cmd.price,
        trigger_price: cmd.trigger_price,
        status: "PENDING",
        client_order_id: cmd.client_order_id,
        correlation_id: submitted.correlation_id,
        created_at: now,
        updated_at: now,
        events: [{ id: submitted.id, type: submitted.type, ts: submitted.ts, data: submitted.data }],
      };
      this.orderList.push(order);
      if (key !== undefined) this.byClientId.set(key, order);
      return { order, created: true };
    },
    list: async (q) => {
      await this.guard();
      // Newest first; the cursor is the index (oldest = 0) below which the next page starts.
      let end = this.orderList.length;
      if (q.cursor !== undefined) {
        end = Number(Buffer.from(q.cursor, "base64url").toString());
        if (!Number.isSafeInteger(end) || end < 0 || end > this.orderList.length) {
          throw new AlphaError("PAYLOAD_INVALID", "cursor: not a cursor from this API", { details: [{ path: "cursor", message: "cursor: not a cursor from this API" }] });
        }
      }
      const page: OrderView[] = [];
      let i = end - 1;
      for (; i >= 0 && page.length < q.limit; i--) {
        const o = this.orderList[i]!;
        if ((q.broker && o.broker !== q.broker) || (q.status && o.status !== q.status) || (q.strategy_id && o.strategy_id !== q.strategy_id)) continue;
        page.push({ ...o, events: undefined });
      }
      return { orders: page, next_cursor: i >= 0 ? Buffer.from(String(i + 1)).toString("base64url") : null };
    },
    get: async (id) => {
      await this.guard();
      return this.orderList.find((o) => o.order_id === id);
    },
    cancel: async (id) => {
      await this.guard();
      const o = this.orderList.find((x) => x.order_id === id);
      if (!o) return undefined;
      if (TERMINAL.has(o.status)) throw new AlphaError(CONFLICT, `order ${id} is ${o.status}: nothing to cancel`);
      return { ...o, events: undefined };
    },
    cancelAll: async (filter) => {
      await this.guard();
      this.cancelAllFilters.push(filter);
      return this.orderList
        .filter((o) => !TERMINAL.has(o.status) && this.activeBrokers.includes(o.broker))
        .filter((o) => (!filter.broker || o.broker === filter.broker) && (!filter.strategy_id || o.strategy_id === filter.strategy_id))
        .filter((o) => filter.instrument_token === undefined || o.instrument_token === filter.instrument_token)
        .map((o) => o.order_id);
    },
    modify: async (order, next) => {
      await this.guard();
      this.modifies.push({ order_id: order.order_id, ...next });
    },
  };

  /** The filters cancel-all was called with, in order. */
  readonly cancelAllFilters: CancelAllFilter[] = [];
  /** The orders square-offs placed, as commands, in order. */
  readonly squareOffs: PlaceOrder[] = [];

  /** The modifies sent, in order. */
  readonly modifies: Array<{ order_id: string } & ModifyOrder> = [];

  /** Sets an order's state, as fills arriving would. */
  fill(orderId: string, filled: number, averagePrice: number): void {
    const o = this.orderList.find((x) => x.order_id === orderId)!;
    o.filled_quantity = filled;
    o.average_price = averagePrice;
    o.status = filled >= o.quantity ? "FILLED" : "PARTIALLY_FILLED";
  }

  portfolios: Services["portfolios"] = {
    get: async (broker) => {
      await this.guard();
      return broker === "paper" ? this.portfolio : { broker, cash: 0, realised_pnl: 0, unrealised_pnl: 0, fees: 0, positions: [] };
    },
    trades: async (broker, limit) => {
      await this.guard();
      return this.tradeList.filter((t) => t.broker === broker).sort((a, b) => b.ts.localeCompare(a.ts)).slice(0, limit);
    },
    // One reduce-only MARKET order per matching non-zero position, as gateway/services/square-off.ts places them.
    close: async (broker, filter) => {
      const { positions } = await this.portfolios.get(broker);
      const held = positions.filter((p) => p.quantity !== 0 && (filter.strategy_id === undefined || p.strategy_id === filter.strategy_id));
      const out: OrderView[] = [];
      for (const p of held.filter((x) => filter.instrument_token === undefined || x.instrument_token === filter.instrument_token)) {
        const cmd: PlaceOrder = { broker, instrument_token: p.instrument_token, side: p.quantity > 0 ? "SELL" : "BUY", quantity: Math.abs(p.quantity), order_type: "MARKET", product: "MIS", strategy_id: p.strategy_id, reduce_only: true };
        this.squareOffs.push(cmd);
        out.push((await this.orders.place(cmd)).order);
      }
      return out;
    },
  };

  strategies: Services["strategies"] = {
    list: async () => {
      await this.guard();
      return [...this.strategyMap.values()];
    },
    create: async (s) => {
      await this.guard();
      if (this.strategyMap.has(s.id)) throw new AlphaError(CONFLICT, `strategy ${s.id} exists`);
      const made = { ...s, created_at: new Date().toISOString() };
      this.strategyMap.set(s.id, made);
      return made;
    },
    update: async (id, patch) => {
      await this.guard();
      const s = this.strategyMap.get(id);
      if (!s) return undefined;
      const next = { ...s, ...patch };
      this.strategyMap.set(id, next);
      return next;
    },
  };

  risk: Services["risk"] = {
    get: async (broker) => {
      await this.guard();
      return this.riskMap.get(broker)!;
    },
    putLimits: async (broker, limits: RiskLimits) => {
      await this.guard();
      const r = this.riskMap.get(broker)!;
      const next = { ...r, limits: { ...r.limits, ...limits } };
      this.riskMap.set(broker, next);
      return next;
    },
    setState: async (broker, state, reason) => {
      await this.guard();
      const next = { ...this.riskMap.get(broker)!, state, reason };
      this.riskMap.set(broker, next);
      return next;
    },
  };

  instruments: Services["instruments"] = {
    list: () => INSTRUMENTS,
    byToken: (token) => INSTRUMENTS.find((i) => i.instrument_token === token),
    bySymbol: (exchange, symbol) => INSTRUMENTS.find((i) => i.exchange === exchange && i.tradingsymbol === symbol),
  };

  /** MARKET_HOURS off, the shipped calendar; a test may set `mode`. */
  marketHours: Services["marketHours"] = { mode: "off", calendar: SHIPPED_CALENDAR };

  ticks: Services["ticks"] = {
    publish: async (ticks) => {
      await this.guard();
      this.published.push(ticks);
    },
  };

  /** Tick watches held now (the WebSocket hub holds one while any socket has a ticks.* channel). */
  tickWatches = 0;

  events: Services["events"] = {
    subscribe: (listener) => {
      this.listeners.add(listener);
      return () => this.listeners.delete(listener);
    },
    watchTicks: async () => {
      await this.guard();
      this.tickWatches++;
      let released = false;
      return () => {
        if (!released) this.tickWatches--;
        released = true;
      };
    },
  };
}
