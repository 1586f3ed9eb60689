/**
 * The trades (fills) as the API reads them, from the ledger (`ledger_fills`, migration 0002),
 * which the portfolio stage writes.
 */
import type { Sql } from "postgres";
import type { Broker } from "../config.ts";
import type { PayloadOf } from "../events/payloads.ts";
import { prepared } from "./db.ts";

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
