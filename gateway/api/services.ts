/**
 * What the HTTP and WebSocket API needs from the rest of the gateway. The API layer (routes,
 * validation, auth, OpenAPI, WebSocket hub) depends only on these interfaces; gateway/runtime.ts
 * implements them over the log, the store and the cache. Money here is integer paise and
 * quantities integers: the API layer converts to and from decimal strings at the edge.
 */
import type { StoredTrade } from "../../src/store/ledger.ts";
import type { StoredOrder } from "../../src/store/orders.ts";
import type { Broker, MarketHours } from "../../src/config.ts";
import type { ExchangeCalendar } from "../../src/market/calendar.ts";
import type { Envelope } from "../../src/events/envelope.ts";
import type { StoredOpenAlgoOrder } from "../../src/store/openalgo-orders.ts";
import type { Tick } from "../../src/events/payloads.ts";
import type { Instrument } from "../../src/market/instruments.ts";
import type { Paise } from "../../src/money.ts";
import type { OrderStatus, OrderType, Product, Side, TradingState } from "../../src/orders/vocabulary.ts";
import type { Webhooks } from "../webhooks/service.ts";

export type { OrderStatus, OrderType, Product, Side, TradingState } from "../../src/orders/vocabulary.ts";

/** A validated order request, instrument resolved, prices in paise. */
export interface PlaceOrder {
  broker: Broker;
  instrument_token: number;
  side: Side;
  quantity: number;
  order_type: OrderType;
  price?: Paise;
  trigger_price?: Paise;
  product?: Product;
  /** After-market: rests until the next open (the signal's `amo`). */
  amo?: boolean;
  /** "manual" when the request names none. */
  strategy_id: string;
  client_order_id?: string;
  /** A square-off: it may only shrink the broker's position, and so passes REDUCING and HALTED. */
  reduce_only?: boolean;
}

/** The fields a modify may change. */
export const MODIFIABLE = ["quantity", "price", "trigger_price", "order_type"] as const;
export type Modifiable = (typeof MODIFIABLE)[number];

/** An open order as a modify would leave it (prices in paise; an absent price is none), and which fields the request named. */
export interface ModifyOrder {
  quantity: number;
  order_type: OrderType;
  price?: Paise;
  trigger_price?: Paise;
  changed: Modifiable[];
}

export interface OrderEventView {
  id: string;
  type: string;
  ts: string;
  data: unknown;
}

/** An order as the API answers it: its row in the orders view, with the average fill price in place of the fills' value. */
export type OrderView = Omit<StoredOrder, "seq" | "filled_value"> & {
  average_price?: Paise;
  /** With GET /orders/:id only. */
  events?: OrderEventView[];
};

export interface OrderQuery {
  broker?: Broker;
  status?: OrderStatus;
  strategy_id?: string;
  limit: number;
  /** Opaque, from a previous page's next_cursor. */
  cursor?: string;
}

/** Which open orders a cancel-all cancels: each filter given narrows them. */
export interface CancelAllFilter {
  broker?: Broker;
  strategy_id?: string;
  instrument_token?: number;
}

/** Which positions a square-off flattens: each filter given narrows them. */
export interface SquareOffFilter {
  strategy_id?: string;
  instrument_token?: number;
}

export interface PositionView {
  strategy_id: string;
  instrument_token: number;
  quantity: number;
  average_price: Paise;
  last_price?: Paise;
  realised_pnl: Paise;
  unrealised_pnl: Paise;
  fees: Paise;
}

export interface PortfolioView {
  broker: Broker;
  cash: Paise;
  realised_pnl: Paise;
  unrealised_pnl: Paise;
  fees: Paise;
  positions: PositionView[];
  updated_at?: string;
}

/** A fill as the API answers it: the ledger's row (money in paise, its time as an ISO string). */
export type TradeView = StoredTrade;

export interface StrategyView {
  id: string;
  kind: string;
  params: Record<string, unknown>;
  instruments: number[];
  brokers: Broker[];
  enabled: boolean;
  created_at?: string;
  updated_at?: string;
}

/** Risk limits; money fields in paise, fractions as numbers in [0, 1]. */
export type RiskLimits = Record<string, number>;

export interface RiskView {
  broker: Broker;
  state: TradingState;
  reason?: string;
  limits: RiskLimits;
  updated_at?: string;
}

/**
 * Errors the services raise on purpose are AlphaErrors: PAYLOAD_INVALID (→ 422), NOT_FOUND
 * (→ 404), CONFLICT (→ 409), and dependency codes with canRetry (→ 503 + Retry-After).
 */
/** One stage (or a stage's companion) as GET /pipeline shows it. */
export interface StageHealth {
  name: string;
  /** The worker's state: starting, running, restarting, stopping, stopped. */
  state: string;
  running: boolean;
  restarts: number;
  partitions: number;
  handled: number;
  produced: number;
  /** Events handled per second over the last few seconds; null until two samples are in. */
  rate_per_s: number | null;
  /** Messages its consumer group has yet to read; null when the log cannot say. */
  lag: number | null;
  dead_letters: number;
}

/** The pipeline's health (GET /pipeline). */
export interface PipelineView {
  stages: StageHealth[];
  /** Tick → fill latency over the last seconds (as /metrics); null before the first fill. */
  tick_to_fill_ms: { p50: number; p99: number; count: number } | null;
  /** Messages each DLQ holds; null when the log cannot say. */
  dlq: Array<{ topic: string; depth: number | null }>;
}

export interface Services {
  activeBrokers: readonly Broker[];
  orders: {
    /** Publishes the order to {broker}.signals.raw. The same client_order_id returns the first order. */
    place(cmd: PlaceOrder): Promise<{ order: OrderView; created: boolean }>;
    list(q: OrderQuery): Promise<{ orders: OrderView[]; next_cursor: string | null }>;
    get(orderId: string): Promise<OrderView | undefined>;
    /** Requests a cancel; undefined when no such order. */
    cancel(orderId: string): Promise<OrderView | undefined>;
    /** Requests a cancel of every open order that matches (of the active brokers); their ids. */
    cancelAll(filter: CancelAllFilter): Promise<string[]>;
    /** Sends the modify to the broker's risk stage (order.modify on signals.raw); the order's events say what became of it. */
    modify(order: OrderView, next: ModifyOrder): Promise<void>;
  };
  portfolios: {
    get(broker: Broker): Promise<PortfolioView>;
    trades(broker: Broker, limit: number): Promise<TradeView[]>;
    /**
     * Squares off every matching non-zero position with a reduce-only MARKET order, placed as
     * `orders.place` places one; the orders (none when flat). Repeated, it places nothing twice.
     */
    close(broker: Broker, filter: SquareOffFilter): Promise<OrderView[]>;
  };
  strategies: {
    list(): Promise<StrategyView[]>;
    create(s: StrategyView): Promise<StrategyView>;
    update(id: string, patch: Partial<Omit<StrategyView, "id">>): Promise<StrategyView | undefined>;
  };
  risk: {
    get(broker: Broker): Promise<RiskView>;
    putLimits(broker: Broker, limits: RiskLimits): Promise<RiskView>;
    setState(broker: Broker, state: TradingState, reason?: string): Promise<RiskView>;
  };
  instruments: {
    list(): readonly Instrument[];
    byToken(token: number): Instrument | undefined;
    bySymbol(exchange: string, symbol: string): Instrument | undefined;
  };
  ticks: {
    publish(ticks: Tick[]): Promise<void>;
  };
  /** The exchange calendar the hours are judged by, and whether they are (MARKET_HOURS). */
  marketHours: {
    mode: MarketHours;
    calendar: ExchangeCalendar;
  };
  pipeline: {
    status(): Promise<PipelineView>;
  };
  /** The strategies' webhooks (gateway/webhooks/): made, listed, revoked, and found by token for an alert. */
  webhooks: Webhooks;
  /**
   * Pushes for WebSocket channels: `orders.<broker>`, `portfolio.<broker>`, `signals.<broker>`,
   * `ticks.<token>`. `wants`, when given, says which channels the listener has subscribers for,
   * so that events for no one are skipped before they are decoded. Returns an unsubscribe function.
   */
  events: {
    subscribe(listener: (channel: string, event: PushedEvent) => void, wants?: (channel: string) => boolean): () => void;
    /**
     * Ticks reach the listeners only while at least one watch is held. Resolves once ticks are
     * being consumed (every tick published from then on is pushed), with the function that ends
     * this watch.
     */
    watchTicks(): Promise<() => void>;
  };
  /**
   * An OpenAlgo instance's orders, read from its order-event topic (OPENALGO_SOURCE_TOPIC): a
   * read-only source shown beside ours. Absent when no source is configured.
   */
  openAlgo?: {
    topic: string;
    list(filter: { limit: number; cursor?: string; status?: string }): Promise<{ orders: OpenAlgoOrderView[]; next_cursor: string | null }>;
  };
}

/** What the WebSocket pushes: one of our events, or an update of a source's order (`openalgo.order`). */
export type PushedEvent = Pick<Envelope, "id" | "ts" | "correlation_id"> & { type: string; data: unknown };

/** An order of an OpenAlgo instance (money in paise; null: its messages did not say). Never ours to cancel or modify. */
export type OpenAlgoOrderView = StoredOpenAlgoOrder & { source: "openalgo"; read_only: true };
