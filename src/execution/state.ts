/**
 * Updates of {@link ExchangeState}: immutable by default (the records an update touches are
 * copied: a tick copies its own instrument's order list, never another instrument's), or in place
 * for a caller that owns the state and keeps only the state returned (the execution stage), where
 * copying `last` (every instrument's last trade) on every tick would make a tick cost O(instruments).
 * Record lookups use Object.hasOwn so an id such as "constructor" is just an id.
 */
import type { ClosedOrder, ExchangeState, LastTrade, OpenOrder } from "./types.ts";

/**
 * The state of an exchange with no orders and no prices yet.
 *
 * @example
 * let state = emptyExchangeState(); // or JSON.parse(persisted) after a restart
 */
export const emptyExchangeState = (): ExchangeState => ({ book: {}, open: {}, last: {}, closed: [] });

export const has = (record: object, key: string): boolean => Object.hasOwn(record, key);

/**
 * The last trade of an instrument, if one has been seen.
 *
 * @example
 * lastTrade(state, 738561)?.price; // paise
 */
export const lastTrade = (s: ExchangeState, token: number): LastTrade | undefined => {
  const key = String(token);
  return has(s.last, key) ? s.last[key] : undefined;
};

/**
 * The open orders of an instrument, oldest first.
 *
 * @example
 * ordersOf(state, 738561).filter((o) => o.status === "TRIGGER_PENDING");
 */
export const ordersOf = (s: ExchangeState, token: number): OpenOrder[] => {
  const key = String(token);
  return has(s.book, key) ? (s.book[key] ?? []) : [];
};

/**
 * A closed order by id, if still remembered.
 *
 * @example
 * findClosed(state, "o1")?.status; // "FILLED" | "CANCELLED" | "REJECTED"
 */
export const findClosed = (s: ExchangeState, orderId: string): ClosedOrder | undefined => s.closed.find((c) => c.order.order_id === orderId);

/** Sets an own property even for a key like "__proto__", where plain assignment would not. */
function put<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

function without<T>(record: Record<string, T>, keys: readonly string[]): Record<string, T> {
  const drop = new Set(keys.filter((k) => has(record, k)));
  if (drop.size === 0) return record;
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(record)) if (!drop.has(k)) put(out, k, v);
  return out;
}

function withEntry<T>(record: Record<string, T>, key: string, value: T): Record<string, T> {
  const out = { ...record };
  put(out, key, value);
  return out;
}

/** Appends closed orders, keeping only the newest `limit`. */
function remember(closed: ClosedOrder[], added: readonly ClosedOrder[], limit: number): ClosedOrder[] {
  if (added.length === 0) return closed;
  const all = [...closed, ...added];
  return limit === 0 ? [] : all.slice(-limit);
}

export interface InstrumentUpdate {
  token: number;
  /** The instrument's open orders after the change, oldest first. */
  orders: OpenOrder[];
  /** Orders that joined the book. */
  opened: readonly string[];
  /** Orders that left the book, with how they ended. */
  closed: readonly ClosedOrder[];
  last?: LastTrade;
}

/**
 * Applies one instrument's changes to the state, returning a new state. With `inPlace`, `s` is
 * updated and returned (O(1) per update); the caller must not keep `s` expecting it unchanged.
 *
 * @example
 * const next = applyUpdate(state, { token, orders: [], opened: [], closed: [], last }, 1000);
 */
export function applyUpdate(s: ExchangeState, u: InstrumentUpdate, memory: number, inPlace = false): ExchangeState {
  const key = String(u.token);
  if (inPlace) {
    if (u.orders.length > 0) put(s.book, key, u.orders);
    else if (has(s.book, key)) delete s.book[key];
    for (const c of u.closed) if (has(s.open, c.order.order_id)) delete s.open[c.order.order_id];
    for (const id of u.opened) put(s.open, id, u.token);
    if (u.last) put(s.last, key, u.last);
    if (u.closed.length > 0) {
      s.closed.push(...u.closed);
      if (s.closed.length > memory) s.closed.splice(0, s.closed.length - memory);
    }
    return s;
  }
  const book = u.orders.length > 0 ? withEntry(s.book, key, u.orders) : without(s.book, [key]);
  let open = without(
    s.open,
    u.closed.map((c) => c.order.order_id),
  );
  for (const id of u.opened) open = withEntry(open, id, u.token);
  return {
    book,
    open,
    last: u.last ? withEntry(s.last, key, u.last) : s.last,
    closed: remember(s.closed, u.closed, memory),
  };
}
