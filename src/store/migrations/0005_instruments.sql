-- The instrument master: Kite's instrument dump, prices and tick sizes in paise.
create table instruments (
  instrument_token bigint primary key,
  exchange_token   bigint,
  tradingsymbol    text not null,
  name             text not null default '',
  exchange         text not null,
  segment          text,
  instrument_type  text,
  expiry           date,
  strike           text,
  tick_size        bigint not null check (tick_size >= 0),
  lot_size         integer not null check (lot_size >= 0),
  last_price       bigint not null default 0 check (last_price >= 0),
  updated_at       timestamptz not null default now(),
  unique (exchange, tradingsymbol)
);
