-- The pipeline's durable state: risk limits and trading state per broker, the fill ledger,
-- and the orders read model with each order's lifecycle events.

create table risk_limits (
  broker     text primary key check (broker in ('paper', 'zerodha')),
  limits     jsonb not null check (jsonb_typeof(limits) = 'object'),
  updated_at timestamptz not null default now()
);

create table trading_state (
  broker     text primary key check (broker in ('paper', 'zerodha')),
  state      text not null check (state in ('ACTIVE', 'REDUCING', 'HALTED')),
  reason     text,
  updated_at timestamptz not null default now()
);

insert into trading_state (broker, state) values ('paper', 'ACTIVE'), ('zerodha', 'ACTIVE')
on conflict do nothing;

-- One row per fill, keyed by the fill event's id: a redelivered fill inserts nothing.
create table ledger_fills (
  event_id         uuid primary key,
  seq              bigserial not null,
  broker           text not null check (broker in ('paper', 'zerodha')),
  fill_id          text not null,
  order_id         text not null,
  strategy_id      text not null,
  instrument_token bigint not null,
  side             text not null check (side in ('BUY', 'SELL')),
  quantity         integer not null check (quantity > 0),
  price            bigint not null check (price > 0),
  fees             bigint not null check (fees >= 0),
  filled_at        timestamptz not null,
  unique (broker, fill_id)
);
create index ledger_fills_broker_seq on ledger_fills (broker, seq);

create table orders (
  order_id         text primary key,
  seq              bigserial not null,
  broker           text not null check (broker in ('paper', 'zerodha')),
  strategy_id      text not null,
  instrument_token bigint not null,
  side             text not null check (side in ('BUY', 'SELL')),
  quantity         integer not null check (quantity > 0),
  filled_quantity  integer not null default 0,
  -- Σ fill quantity × fill price, paise: the average fill price is filled_value / filled_quantity.
  filled_value     bigint not null default 0,
  order_type       text not null check (order_type in ('MARKET', 'LIMIT', 'SL', 'SL-M')),
  price            bigint,
  trigger_price    bigint,
  product          text,
  status           text not null check (status in ('PENDING', 'OPEN', 'PARTIALLY_FILLED', 'FILLED', 'REJECTED', 'CANCELLED', 'FAILED')),
  reason_code      text,
  message          text,
  client_order_id  text,
  correlation_id   text not null,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now()
);
create unique index orders_client_order_id on orders (broker, client_order_id) where client_order_id is not null;
create index orders_broker_seq on orders (broker, seq);

create table order_events (
  event_id   uuid primary key,
  order_id   text not null,
  type       text not null,
  ts         timestamptz not null,
  data       jsonb not null
);
create index order_events_order on order_events (order_id, ts);
