-- The risk stage's own state, one row per broker and instrument: the positions of its P&L fold (as
-- the portfolio's fold keeps them, one per strategy), the day's counters and throttle, and the
-- last fill and signal it applied (so a redelivery is not counted twice). Saved once the batch
-- that changed them is acknowledged, loaded at start and after a rebalance (src/store/risk-books.ts).
create table risk_books (
  broker            text not null check (broker in ('paper', 'zerodha')),
  instrument_token  bigint not null check (instrument_token > 0),
  -- the IST day day_open, orders_today and recent belong to; null before any event
  day               date,
  -- the instrument's net P&L (realised - fees + unrealised, paise) when that day began
  day_open          bigint not null default 0,
  positions         jsonb not null default '[]' check (jsonb_typeof(positions) = 'array'),
  -- strategy id -> signals validated that day
  orders_today      jsonb not null default '{}' check (jsonb_typeof(orders_today) = 'object'),
  -- event times (ms) of the signals validated in the last second
  recent            jsonb not null default '[]' check (jsonb_typeof(recent) = 'array'),
  fill_partition    integer,
  fill_offset       bigint,
  signal_partition  integer,
  signal_offset     bigint,
  -- the stage's event clock (ms) when saved
  clock             bigint not null default 0,
  updated_at        timestamptz not null default now(),
  primary key (broker, instrument_token)
);

-- Carried over once from the ledger, which risk read at every start before it kept its own state:
-- each open position at its last fill's price. Its P&L counts from here (day_open is its figure
-- now, 0), so the basis taken does not change any later day P&L; the day's counters start at 0.
insert into risk_books (broker, instrument_token, positions)
select broker, instrument_token, jsonb_agg(jsonb_build_object(
         'strategy_id', strategy_id, 'instrument_token', instrument_token, 'quantity', net,
         'cost_basis', net * last_price, 'average_price', last_price, 'realised_pnl', 0, 'fees', 0,
         'last_price', last_price, 'unrealised_pnl', 0,
         'buy_quantity', greatest(net, 0), 'buy_value', greatest(net, 0) * last_price,
         'sell_quantity', greatest(-net, 0), 'sell_value', greatest(-net, 0) * last_price) order by strategy_id)
  from (
    select broker, strategy_id, instrument_token,
           sum(case when side = 'BUY' then quantity else -quantity end) as net,
           (array_agg(price order by seq desc))[1] as last_price
      from ledger_fills group by 1, 2, 3
  ) p
 where net <> 0
 group by broker, instrument_token;
