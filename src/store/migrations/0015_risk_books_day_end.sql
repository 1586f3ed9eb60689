-- The risk stage's day's end, per instrument (src/risk/day-end.ts): each strategy's net intraday
-- (MIS) units, and the IST day its MIS square-off ran with the orders it sent that day, so that
-- a restart neither squares off twice nor forgets to counter a late fill. '{}': nothing to keep.
alter table risk_books add column day_end jsonb not null default '{}' check (jsonb_typeof(day_end) = 'object');
