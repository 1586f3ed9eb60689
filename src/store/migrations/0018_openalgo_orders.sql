-- Orders of an OpenAlgo instance, read from its order-event topic (OPENALGO_SOURCE_TOPIC): a
-- read-only source beside our own orders, one row per OpenAlgo orderid as its latest message shows
-- it (src/store/openalgo-orders.ts). Money in paise; quantities and prices may be unknown.
create table openalgo_orders (
  order_id         text primary key,
  seq              bigserial not null,
  user_id          text not null,
  symbol           text not null,
  exchange         text,
  side             text not null check (side in ('BUY', 'SELL')),
  quantity         bigint check (quantity >= 0),
  price            bigint,
  trigger_price    bigint,
  order_type       text,
  product          text,
  status           text not null check (status in ('OPEN', 'FILLED', 'CANCELLED', 'REJECTED')),
  openalgo_status  text,
  mode             text,
  broker           text,
  strategy         text,
  filled_quantity  bigint check (filled_quantity >= 0),
  average_price    bigint,
  -- the latest message's timestamp and kind: an older message changes nothing
  event_ts         timestamptz not null,
  event_type       text not null,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now()
);
create index openalgo_orders_seq on openalgo_orders (seq desc);
