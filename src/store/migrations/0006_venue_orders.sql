-- Orders sent to an outside venue (Kite Connect for zerodha): our order id, the venue's, the
-- tag we sent (so an order placed just before a crash is found again), and the order itself,
-- so venue updates (postbacks, ticker messages, reconciliation) become our lifecycle events.
create table venue_orders (
  order_id        text primary key,
  broker          text not null check (broker in ('paper', 'zerodha')),
  tag             text not null unique,
  venue_order_id  text unique,
  correlation_id  text not null,
  trace_id        text not null,
  orig            jsonb not null check (jsonb_typeof(orig) = 'object'),
  venue_status    text,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now()
);
