/**
 * The exchange's commands, events and state. The state is plain JSON (records and arrays, no
 * Maps, no classes), so a worker can persist it with JSON.stringify and load it back as it was.
 */
import type { PayloadOf } from "../events/payloads.ts";
import type { Paise } from "../money.ts";
import type { OrderChange } from "./modify.ts";

/** An order as the execution stage hands it to the exchange: the order.submitted fields. */
export type OrderRequest = Omit<PayloadOf<"order.submitted">, "venue_order_id">;

/** What the exchange needs to know about an instrument. */
export interface InstrumentSpec {
  instrument_token: number;
  /** Smallest price step, paise. */
  tick_size: Paise;
  /** Quantities are multiples of this. */
  lot_size: number;
  /** Whose hours an after-market order waits for (NSE, BSE, NFO, BFO). */
  exchange?: string;
}

/** Finds an instrument by token; undefined means the exchange does not list it. */
export type InstrumentLookup = (token: number) => InstrumentSpec | undefined;

/** Business reasons an order is refused (order.rejected's reason_code). */
export type RejectReason =
  | "UNKNOWN_INSTRUMENT"
  | "INVALID_QUANTITY"
  | "PRICE_REQUIRED"
  | "TRIGGER_PRICE_REQUIRED"
  | "PRICE_NOT_ON_TICK"
  | "NO_MARKET_PRICE"
  | "TRIGGER_ALREADY_CROSSED";

/** A refused modify: the order is unchanged. */
export interface ModifyRejected {
  order_id: string;
  instrument_token: number;
  reason_code: string;
  message: string;
}

/** Why a cancel was refused. */
export type CancelRejectReason = "ORDER_NOT_OPEN" | "UNKNOWN_ORDER";

/**
 * A refused cancel. Not an order.rejected: that would tell every reader the order itself was
 * rejected, and a filled order would be shown as rejected. `order` is there when it is known.
 */
export interface CancelRejected {
  order_id: string;
  reason_code: CancelRejectReason;
  message: string;
  order?: OrderRequest;
}

/**
 * Events the exchange emits: plain data, payloads as in src/events/payloads.ts. `at` is set where
 * an event happened later than the command's `now`: a fill on a tick that traded before the order
 * arrived happens when the order arrived (its `submitted_at`), never before it.
 */
export type ExchangeEvent = (
  | { type: "order.submitted"; data: PayloadOf<"order.submitted"> }
  | { type: "order.filled"; data: PayloadOf<"order.filled"> }
  | { type: "order.rejected"; data: PayloadOf<"order.rejected"> }
  | { type: "order.cancelled"; data: PayloadOf<"order.cancelled"> }
  | { type: "order.cancel_rejected"; data: CancelRejected }
  | { type: "order.modified"; data: PayloadOf<"order.modified"> }
  | { type: "order.modify_rejected"; data: ModifyRejected }
) & { at?: string };

/**
 * An accepted order not yet done. A stop waits in TRIGGER_PENDING; once fired (or for MARKET and
 * LIMIT orders from the start) it is OPEN and fills as its `working` type says.
 */
export interface OpenOrder {
  order: OrderRequest;
  status: "TRIGGER_PENDING" | "OPEN";
  /** How it fills while OPEN: MARKET (MARKET, fired SL-M) or LIMIT (LIMIT, fired SL). */
  working: "MARKET" | "LIMIT";
  tick_size: Paise;
  lot_size: number;
  filled_quantity: number;
  /** Σ fill_quantity × fill_price so far, paise: charges are levied on cumulative turnover. */
  filled_value: Paise;
  /** Fills so far; the next fill id is `${order_id}-${fills + 1}`. */
  fills: number;
  submitted_at: string;
  updated_at: string;
  /** An after-market order held out of matching until this time (the next open, UTC ISO); absent once released. */
  release_at?: string;
}

/** The last trade seen for an instrument. */
export interface LastTrade {
  price: Paise;
  /**
   * With partial fills on: the tick's last_quantity not yet taken by our orders; null when the
   * tick did not say (no cap).
   */
  available: number | null;
}

/** A closed order, remembered (boundedly) so a late cancel is told ORDER_NOT_OPEN. */
export interface ClosedOrder {
  order: OrderRequest;
  status: "FILLED" | "CANCELLED" | "REJECTED";
  closed_at: string;
}

/** Everything the exchange knows. Keys of the records are instrument tokens or order ids. */
export interface ExchangeState {
  /** Open orders per instrument token, in arrival order (time priority). */
  book: Record<string, OpenOrder[]>;
  /** Open order id → its instrument token, so a cancel finds the order in O(1). */
  open: Record<string, number>;
  /** Last trade per instrument token. */
  last: Record<string, LastTrade>;
  /** Most recently closed orders, oldest first, at most closed_order_memory of them. */
  closed: ClosedOrder[];
}

/** The outcome of one command: the next state and what happened, in order. */
export interface ExchangeResult {
  state: ExchangeState;
  events: ExchangeEvent[];
}

/** The exchange's commands, for workers that dispatch on a single entry point. */
export type ExchangeCommand =
  | { type: "SubmitOrder"; order: OrderRequest; now: string }
  | { type: "CancelOrder"; order_id: string; now: string; reason?: string }
  | { type: "ModifyOrder"; change: OrderChange; now: string }
  | { type: "ApplyTick"; tick: PayloadOf<"market.tick">; now: string };
