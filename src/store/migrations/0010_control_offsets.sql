-- Trading state, risk limits and strategies are commands on each broker's control topic
-- (src/control); these tables are their projection. Each row keeps the offset of the command it was
-- projected from, so every gateway projecting the topic writes a row only with a newer command,
-- and all of them agree. Null: set before controls were commands (seeded into an empty topic once).
alter table trading_state add column control_offset bigint;
alter table risk_limits add column control_offset bigint;
-- A strategy's command goes to the control topic of each of its brokers: an offset per broker.
alter table strategies add column control_offsets jsonb not null default '{}' check (jsonb_typeof(control_offsets) = 'object');
