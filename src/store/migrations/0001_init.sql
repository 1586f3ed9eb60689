-- Strategies: which pure strategy runs, with what parameters, on which instruments, for which
-- broker namespaces. The strategy worker loads the enabled rows at start.

create table strategies (
  id          text primary key check (id ~ '^[a-z][a-z0-9_]{0,62}$'),
  kind        text not null,
  -- Always a JSON object, so a strategy can read its params by name.
  params      jsonb not null default '{}' check (jsonb_typeof(params) = 'object'),
  -- Kite instrument tokens are unsigned 32-bit, which overflows integer: hence bigint.
  instruments bigint[] not null default '{}'
              check (array_position(instruments, null) is null
                     and 0 < all (instruments) and 4294967296 > all (instruments)),
  brokers     text[] not null default '{paper}'
              check (cardinality(brokers) > 0
                     and array_position(brokers, null) is null
                     and brokers <@ array['paper', 'zerodha']),
  enabled     boolean not null default true,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create function touch_updated_at() returns trigger language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create trigger strategies_touch_updated_at
  before update on strategies
  for each row execute function touch_updated_at();

-- Tokens from Kite's NSE instrument list:
-- RELIANCE 738561, TCS 2953217, INFY 408065, HDFCBANK 341249, ICICIBANK 1270529, SBIN 779521.
insert into strategies (id, kind, params, instruments, brokers) values
  ('momentum_fast', 'momentum',
   '{"lookback": 20, "threshold_bps": 15, "quantity": 1}',
   '{738561,2953217,408065}', '{paper}'),
  ('mean_reversion_bank', 'mean_reversion',
   '{"window": 50, "entry_z": 2.0, "exit_z": 0.5, "quantity": 1}',
   '{341249,1270529,779521}', '{paper}')
on conflict (id) do nothing;
