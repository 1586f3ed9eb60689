/**
 * Every order of a backtest as one row, from its first event to its final state: what
 * orders.jsonl holds. Money in paise here, decimal rupees in the file.
 */
import { isFinal, type OrderStatus } from "../orders/vocabulary.ts";
import type { PayloadOf } from "../events/payloads.ts";
import { assertSafe, mul, mulDivRound } from "../intmath.ts";
import type { InstrumentMaster } from "../market/instruments.ts";
import { toRupees } from "../money.ts";

export interface OrderRow {
  order_id: string;
  created_ts: string;
  updated_ts: string;
  strategy_id: string;
  instrument_token: number;
  tradingsymbol: string | null;
  side: string;
  quantity: number;
  order_type: string;
  price: string | null;
  trigger_price: string | null;
  status: OrderStatus;
  filled_quantity: number;
  /** Σ fill quantity × price, paise (average = filled_value / filled_quantity). */
  filled_value: number;
  fees: number;
  reason_code: string | null;
  message: string | null;
}

/** What the first event of an order says about it: a signal's fields, and an order's id once it has one. */
export type OrderFields = Pick<PayloadOf<"signal.generated">, "signal_id" | "strategy_id" | "instrument_token" | "side" | "quantity" | "order_type" | "price" | "trigger_price"> & {
  order_id?: string;
};

export const iso = (ms: number): string => new Date(ms).toISOString();
const rupeesOrNull = (p: number | undefined) => (p === undefined ? null : toRupees(p));

/**
 * @example
 * const rows = new OrderRows(master);
 * rows.record(signal, at, "PENDING");
 * rows.jsonl();
 */
export class OrderRows {
  readonly byId = new Map<string, OrderRow>();

  constructor(private readonly instruments: Pick<InstrumentMaster, "byToken">) {}

  /** The instrument's symbol, for the files a reader opens. */
  symbolOf(token: number): string | null {
    return this.instruments.byToken(token)?.tradingsymbol ?? null;
  }

  /** The order's row, made at its first event; a final status stays. */
  record(fields: OrderFields, at: number, status: OrderRow["status"], reason?: string, message?: string): OrderRow {
    const id = fields.order_id ?? fields.signal_id;
    let row = this.byId.get(id);
    if (!row) {
      row = {
        order_id: id,
        created_ts: iso(at),
        updated_ts: iso(at),
        strategy_id: fields.strategy_id,
        instrument_token: fields.instrument_token,
        tradingsymbol: this.symbolOf(fields.instrument_token),
        side: fields.side,
        quantity: fields.quantity,
        order_type: fields.order_type,
        price: rupeesOrNull(fields.price),
        trigger_price: rupeesOrNull(fields.trigger_price),
        status,
        filled_quantity: 0,
        filled_value: 0,
        fees: 0,
        reason_code: null,
        message: null,
      };
      this.byId.set(id, row);
    }
    row.updated_ts = iso(at);
    if (!isFinal(row.status)) row.status = status;
    if (reason !== undefined) row.reason_code = reason;
    if (message !== undefined) row.message = message;
    return row;
  }

  /** A fill: the order's status, filled quantity and value, and fees. */
  fill(f: PayloadOf<"order.filled">, at: number): void {
    const row = this.record(f, at, f.status);
    row.filled_quantity += f.fill_quantity;
    row.filled_value = assertSafe(row.filled_value + mul(f.fill_quantity, f.fill_price, "fill value"), "filled value");
    row.fees += f.fees;
  }

  /** One JSON line per order, in order of first event; the average price rounded half away from zero. */
  jsonl(): string {
    let out = "";
    for (const row of this.byId.values()) {
      const { filled_value, ...rest } = row;
      out +=
        JSON.stringify({
          ...rest,
          average_price: row.filled_quantity > 0 ? toRupees(mulDivRound(filled_value, 1, row.filled_quantity)) : null,
          fees: toRupees(row.fees),
        }) + "\n";
    }
    return out;
  }
}
