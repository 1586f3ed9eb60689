/**
 * The orders read model in PostgreSQL (`orders`, `order_events`), written from the lifecycle
 * events. Each event is recorded once (its id is the key), and the order row changes only when
 * the event is new, in the same statement, so a redelivered event changes nothing. Topics are
 * read in parallel, so events of one order can arrive out of order: a status only moves forward
 * (PENDING → OPEN → PARTIALLY_FILLED → a final state).
 */
import type { AnyEnvelope } from "../../events/envelope.ts";
import type { Db } from "../../store/db.ts";

const RANK = `(case %s when 'PENDING' then 0 when 'OPEN' then 1 when 'PARTIALLY_FILLED' then 2 else 3 end)`;

const UPSERT = `
with ev as (
  insert into order_events (event_id, order_id, type, ts, data)
  values ($1::uuid, $2, $3, $4::timestamptz, $5::jsonb)
  on conflict do nothing returning event_id
)
insert into orders as o (order_id, broker, strategy_id, instrument_token, side, quantity, order_type, price, trigger_price,
                         product, status, reason_code, message, correlation_id, filled_quantity, filled_value, created_at, updated_at)
select $2, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $4::timestamptz, now() from ev
on conflict (order_id) do update set
  status = case when o.status in ('FILLED', 'REJECTED', 'CANCELLED', 'FAILED') then o.status
                when ${RANK.replace("%s", "excluded.status")} >= ${RANK.replace("%s", "o.status")} then excluded.status
                else o.status end,
  filled_quantity = o.filled_quantity + excluded.filled_quantity,
  filled_value = o.filled_value + excluded.filled_value,
  reason_code = coalesce(excluded.reason_code, o.reason_code),
  message = coalesce(excluded.message, o.message),
  updated_at = now()`;

const EVENT_ONLY = `insert into order_events (event_id, order_id, type, ts, data) values ($1::uuid, $2, $3, $4::timestamptz, $5::jsonb) on conflict do nothing`;

/** The order status an event implies. */
function statusOf(e: AnyEnvelope): string | undefined {
  switch (e.type) {
    case "signal.generated":
    case "signal.validated":
      return "PENDING";
    case "signal.rejected":
    case "order.rejected":
      return "REJECTED";
    case "order.submitted":
      return "OPEN";
    case "order.filled":
      return e.data.status;
    case "order.cancelled":
      return "CANCELLED";
    case "order.failed":
      return "FAILED";
    default:
      return undefined;
  }
}

/** Records an order lifecycle event; other events are ignored. */
export async function projectOrder(db: Db, e: AnyEnvelope): Promise<void> {
  if (e.type === "order.cancel_rejected") {
    await db.query(EVENT_ONLY, [e.id, e.data.order_id, e.type, e.ts, e.data]);
    return;
  }
  const status = statusOf(e);
  if (!status || e.broker === "shared") return;
  const d = e.data as {
    order_id?: string;
    signal_id: string;
    strategy_id: string;
    instrument_token: number;
    side: string;
    quantity: number;
    order_type: string;
    price?: number;
    trigger_price?: number;
    product?: string;
    reason_code?: string;
    message?: string;
    fill_quantity?: number;
    fill_price?: number;
  };
  const orderId = d.order_id ?? d.signal_id;
  const filledQty = e.type === "order.filled" ? d.fill_quantity! : 0;
  const filledValue = e.type === "order.filled" ? d.fill_quantity! * d.fill_price! : 0;
  await db.query(UPSERT, [
    e.id,
    orderId,
    e.type,
    e.ts,
    e.data,
    e.broker,
    d.strategy_id,
    d.instrument_token,
    d.side,
    d.quantity,
    d.order_type,
    d.price ?? null,
    d.trigger_price ?? null,
    d.product ?? null,
    status,
    d.reason_code ?? null,
    d.message ?? null,
    e.correlation_id,
    filledQty,
    filledValue,
  ]);
}
