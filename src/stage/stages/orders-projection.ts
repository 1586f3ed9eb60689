/**
 * The orders read model in PostgreSQL (`orders`, `order_events`), written from the lifecycle
 * events. Each event is recorded once (its id is the key), and the order row changes only when
 * the event is new, in the same statement, so a redelivered event changes nothing. Topics are
 * read in parallel, so events of one order can arrive out of order: a status only moves forward
 * (PENDING → OPEN → PARTIALLY_FILLED → a final state).
 */
import type { AnyEnvelope } from "../../events/envelope.ts";
import type { Db } from "../../store/db.ts";
import { SEND_TIMEOUT } from "../../risk/expiry.ts";

const FINAL = `('FILLED', 'REJECTED', 'CANCELLED', 'FAILED')`;
/**
 * Send deadlines (ORDER_SEND_TIMEOUT_MS). The gateway's relay ends an order it could not send in
 * time FAILED SEND_TIMEOUT; a copy that reached the log late is refused by risk with the same
 * reason. The one race: a send in doubt at the deadline whose copy risk judged in time. Then the
 * pipeline is the truth (the order is live at the venue), so a pipeline event other than the
 * refusal takes the order on from FAILED SEND_TIMEOUT (REVIVED); and a refusal of a late copy
 * never moves an order that is already under way (STALE_TIMEOUT).
 */
const REVIVED = `(o.status = 'FAILED' and o.reason_code = '${SEND_TIMEOUT}' and excluded.reason_code is distinct from '${SEND_TIMEOUT}')`;
const STALE_TIMEOUT = `(excluded.reason_code = '${SEND_TIMEOUT}' and o.status <> 'PENDING')`;
const RANK = `(case %s when 'PENDING' then 0 when 'OPEN' then 1 when 'PARTIALLY_FILLED' then 2 else 3 end)`;

/**
 * A batch of events in one statement (so one transaction), in batch order (`n`). The events are
 * recorded (those already recorded are skipped); the new ones with a status are folded per order,
 * exactly as applying them one by one would: the first final status among them wins, else the
 * furthest along; the fill quantities and values add up; the last reason and message given win;
 * an order row is made from its first event. That fold is then merged into the row by the same
 * rule (a final status stays; a status only moves forward).
 */
const UPSERT = `
with input as (
  select * from unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::bigint[],
                       $9::text[], $10::int[], $11::text[], $12::bigint[], $13::bigint[], $14::text[], $15::text[], $16::text[],
                       $17::text[], $18::text[], $19::int[], $20::bigint[])
    with ordinality as i(event_id, order_id, type, ts, data, broker, strategy_id, instrument_token, side, quantity, order_type,
                         price, trigger_price, product, status, reason_code, message, correlation_id, filled_quantity, filled_value, n)
),
ev as (
  insert into order_events (event_id, order_id, type, ts, data)
  select event_id, order_id, type, ts, data::jsonb from input order by n
  on conflict do nothing returning event_id
),
fresh as (select input.* from input join ev using (event_id) where input.status is not null),
folded as (
  select order_id,
         (array_agg(broker order by n))[1] as broker,
         (array_agg(strategy_id order by n))[1] as strategy_id,
         (array_agg(instrument_token order by n))[1] as instrument_token,
         (array_agg(side order by n))[1] as side,
         (array_agg(quantity order by n))[1] as quantity,
         (array_agg(order_type order by n))[1] as order_type,
         (array_agg(price order by n))[1] as price,
         (array_agg(trigger_price order by n))[1] as trigger_price,
         (array_agg(product order by n))[1] as product,
         coalesce((array_agg(status order by n) filter (where status in ${FINAL}))[1],
                  (array_agg(status order by ${RANK.replace("%s", "status")} desc))[1]) as status,
         (array_agg(reason_code order by n desc) filter (where reason_code is not null))[1] as reason_code,
         (array_agg(message order by n desc) filter (where message is not null))[1] as message,
         (array_agg(correlation_id order by n))[1] as correlation_id,
         sum(filled_quantity)::int as filled_quantity,
         sum(filled_value)::bigint as filled_value,
         (array_agg(ts order by n))[1] as created_at
    from fresh group by order_id
)
insert into orders as o (order_id, broker, strategy_id, instrument_token, side, quantity, order_type, price, trigger_price,
                         product, status, reason_code, message, correlation_id, filled_quantity, filled_value, created_at, updated_at)
select order_id, broker, strategy_id, instrument_token, side, quantity, order_type, price, trigger_price,
       product, status, reason_code, message, correlation_id, filled_quantity, filled_value, created_at, now()
  from folded order by order_id
on conflict (order_id) do update set
  status = case when ${REVIVED} then excluded.status
                when ${STALE_TIMEOUT} then o.status
                when o.status in ${FINAL} then o.status
                when ${RANK.replace("%s", "excluded.status")} >= ${RANK.replace("%s", "o.status")} then excluded.status
                else o.status end,
  filled_quantity = o.filled_quantity + excluded.filled_quantity,
  filled_value = o.filled_value + excluded.filled_value,
  reason_code = case when ${REVIVED} then excluded.reason_code when ${STALE_TIMEOUT} then o.reason_code else coalesce(excluded.reason_code, o.reason_code) end,
  message = case when ${REVIVED} then excluded.message when ${STALE_TIMEOUT} then o.message else coalesce(excluded.message, o.message) end,
  updated_at = now()`;

/** The order status an event implies. */
function statusOf(e: AnyEnvelope): string | undefined {
  switch (e.type) {
    case "signal.generated":
    case "signal.validated":
      return "PENDING";
    case "signal.rejected":
      // A signal refused for being past its send deadline was never sent: the order FAILED.
      return e.data.reason_code === SEND_TIMEOUT ? "FAILED" : "REJECTED";
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

const isTimeoutRefusal = (e: AnyEnvelope): boolean => e.type === "signal.rejected" && e.data.reason_code === SEND_TIMEOUT;
const orderIdOf = (e: AnyEnvelope): string => {
  const d = e.data as { order_id?: string; signal_id?: string };
  return String(d.order_id ?? d.signal_id);
};

type Data = {
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

/**
 * Records a batch of order lifecycle events, in order, in one statement; other events are
 * ignored, and a cancel the venue refused is recorded without changing its order.
 *
 * @example
 * await projectOrders(db, batchEvents);
 */
export async function projectOrders(db: Db, events: readonly AnyEnvelope[]): Promise<void> {
  const cols: unknown[][] = Array.from({ length: 20 }, () => []);
  const ids = new Set<string>();
  // An order with pipeline events besides a deadline refusal in this batch is under way: the
  // refusal (of a late duplicate copy) is recorded but does not change it.
  const underWay = new Set<string>();
  for (const e of events) {
    if (e.broker !== "shared" && statusOf(e) !== undefined && !isTimeoutRefusal(e)) underWay.add(orderIdOf(e));
  }
  for (const e of events) {
    const status = e.type === "order.cancel_rejected" || (isTimeoutRefusal(e) && underWay.has(orderIdOf(e))) ? null : statusOf(e);
    if (status === undefined || e.broker === "shared" || ids.has(e.id)) continue;
    ids.add(e.id);
    const d = e.data as Data;
    const filled = e.type === "order.filled";
    const row = [
      e.id,
      d.order_id ?? d.signal_id,
      e.type,
      e.ts,
      JSON.stringify(e.data),
      e.broker,
      d.strategy_id ?? null,
      d.instrument_token ?? null,
      d.side ?? null,
      d.quantity ?? null,
      d.order_type ?? null,
      d.price ?? null,
      d.trigger_price ?? null,
      d.product ?? null,
      status,
      d.reason_code ?? null,
      d.message ?? null,
      e.correlation_id,
      filled ? d.fill_quantity! : 0,
      // Integer paise × integer quantity: exact while below 2^53 paise.
      filled ? d.fill_quantity! * d.fill_price! : 0,
    ];
    row.forEach((v, i) => cols[i]!.push(v));
  }
  if (ids.size === 0) return;
  await db.query(UPSERT, cols);
}
