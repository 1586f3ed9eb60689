/**
 * The fill ledger (`ledger_fills`, migration 0002): one row per fill, keyed by the fill event's id,
 * so a redelivered fill inserts nothing. The portfolio stage writes a batch's fills and rebuilds
 * its positions from a broker's rows; the API's trades are its newest rows (`recentTrades`).
 */
import type { Side } from "../orders/vocabulary.ts";
import type { Sql } from "postgres";
import type { Broker } from "../config.ts";
import type { PayloadOf } from "../events/payloads.ts";
import { prepared, type Db } from "./db.ts";

/** A batch's fills in one statement, in order (seq follows the batch), the new ones returned. */
export const LEDGER_INSERT = `
insert into ledger_fills (event_id, broker, fill_id, order_id, strategy_id, instrument_token, side, quantity, price, fees, filled_at)
select event_id, broker, fill_id, order_id, strategy_id, instrument_token, side, quantity, price, fees, filled_at
  from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::int[], $9::bigint[], $10::bigint[], $11::timestamptz[])
       with ordinality as f(event_id, broker, fill_id, order_id, strategy_id, instrument_token, side, quantity, price, fees, filled_at, n)
 order by n
on conflict do nothing returning event_id::text`;

const BY_BROKER = `select fill_id, order_id, strategy_id, instrument_token::text, side, quantity, price::text, fees::text
  from ledger_fills where broker = $1 order by seq`;

/** A fill to record: its event's id and time, and where it belongs. */
export interface NewLedgerFill {
  event_id: string;
  broker: Broker;
  /** The fill event's time (ISO 8601). */
  filled_at: string;
  fill: PayloadOf<"order.filled">;
}

/** A recorded fill, named as the order.filled payload names its fields (what the portfolio's fold takes). */
export interface LedgerFill {
  fill_id: string;
  order_id: string;
  strategy_id: string;
  instrument_token: number;
  side: Side;
  fill_quantity: number;
  /** Paise. */
  fill_price: number;
  /** Paise. */
  fees: number;
}

/**
 * Records the fills in one statement, so one transaction: all the new ones or (when it throws)
 * none. The event ids (lower case) of those it inserted: a fill recorded before is not among them.
 *
 * @example
 * const inserted = await recordFills(ctx.db, [{ event_id: e.id, broker: "paper", filled_at: e.ts, fill: e.data }]);
 */
export async function recordFills(db: Db, fills: readonly NewLedgerFill[]): Promise<Set<string>> {
  if (fills.length === 0) return new Set();
  const col = <T>(f: (x: NewLedgerFill) => T) => fills.map(f);
  const rows = await db.query<{ event_id: string }>(LEDGER_INSERT, [
    col((x) => x.event_id),
    col((x) => x.broker),
    col((x) => x.fill.fill_id),
    col((x) => x.fill.order_id),
    col((x) => x.fill.strategy_id),
    col((x) => x.fill.instrument_token),
    col((x) => x.fill.side),
    col((x) => x.fill.fill_quantity),
    col((x) => x.fill.fill_price),
    col((x) => x.fill.fees),
    col((x) => x.filled_at),
  ]);
  return new Set(rows.map((r) => r.event_id.toLowerCase()));
}

/**
 * A broker's fills in the order they were recorded.
 *
 * @example
 * const state = rebuild(await ledgerFills(ctx.db, "paper"), { broker: "paper" });
 */
export async function ledgerFills(db: Db, broker: Broker): Promise<LedgerFill[]> {
  const rows = await db.query<Record<string, string | number>>(BY_BROKER, [broker]);
  return rows.map((r) => ({
    fill_id: String(r.fill_id),
    order_id: String(r.order_id),
    strategy_id: String(r.strategy_id),
    instrument_token: Number(r.instrument_token),
    side: r.side as LedgerFill["side"],
    fill_quantity: Number(r.quantity),
    fill_price: Number(r.price),
    fees: Number(r.fees),
  }));
}

/** One fill of the ledger: money in paise, its time as an ISO string. */
export interface StoredTrade {
  fill_id: string;
  event_id: string;
  order_id: string;
  broker: Broker;
  strategy_id: string;
  instrument_token: number;
  side: PayloadOf<"signal.generated">["side"];
  quantity: number;
  price: number;
  fees: number;
  ts: string;
}

/**
 * A broker's last `limit` fills, newest first.
 *
 * @example
 * const trades = await recentTrades(store.sql, "paper", 50);
 */
export async function recentTrades(sql: Sql, broker: Broker, limit: number): Promise<StoredTrade[]> {
  const rows = await prepared(
    sql,
    `select event_id::text, fill_id, order_id, strategy_id, instrument_token::text, side, quantity, price::text, fees::text, filled_at
       from ledger_fills where broker = $1 order by seq desc limit $2`,
    [broker, limit],
  );
  return rows.map((row) => ({
    fill_id: String(row.fill_id),
    event_id: String(row.event_id),
    order_id: String(row.order_id),
    broker,
    strategy_id: String(row.strategy_id),
    instrument_token: Number(row.instrument_token),
    side: row.side as StoredTrade["side"],
    quantity: Number(row.quantity),
    price: Number(row.price),
    fees: Number(row.fees),
    ts: new Date(row.filled_at as string).toISOString(),
  }));
}
