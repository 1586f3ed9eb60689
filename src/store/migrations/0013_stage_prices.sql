-- Each stage's own last prices (risk, execution), from the ticks it consumed: saved about once a
-- second of tick time, loaded at start and after a rebalance, so a stage that takes over an
-- instrument knows its price before the next tick (src/store/stage-prices.ts).
create table stage_prices (
  stage             text not null,
  instrument_token  bigint not null check (instrument_token > 0),
  price             bigint not null check (price > 0),
  -- the tick's event time
  at                timestamptz not null,
  primary key (stage, instrument_token)
);
