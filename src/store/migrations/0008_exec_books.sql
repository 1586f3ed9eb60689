-- The paper exchange's resting orders (the execution stage's book), one row per broker and
-- instrument with orders resting: saved once the batch that changed them is acknowledged, loaded
-- at start and after a rebalance. Kept here, not in the cache: the cache holds only what can be
-- rebuilt, and a resting order cannot be rebuilt from anything else once a flush forgets it.
create table exec_books (
  broker            text not null check (broker in ('paper', 'zerodha')),
  instrument_token  bigint not null check (instrument_token > 0),
  orders            jsonb not null check (jsonb_typeof(orders) = 'array' and jsonb_array_length(orders) > 0),
  -- order id → the correlation and trace ids its events carry
  lineage           jsonb not null check (jsonb_typeof(lineage) = 'object'),
  updated_at        timestamptz not null default now(),
  primary key (broker, instrument_token)
);
