-- The order outbox: an order accepted by the API is written with its outbox row in one
-- transaction, and the relay (gateway/outbox.ts) sends the row's envelope to its topic until the
-- log has it. An acknowledged order is therefore sent at least once, whatever crashes between the
-- answer and the send. `claimed_until` is a lease: the process that inserted the row (or a
-- relay that claimed it) sends it; others wait until it lapses. A row ends sent or failed (its
-- deadline passed unsent); ended rows are pruned after a while.
create table order_outbox (
  event_id      uuid primary key,
  order_id      text not null unique,
  topic         text not null,
  key           text not null,
  envelope      text not null,
  expires_at    timestamptz not null,
  claimed_until timestamptz not null,
  created_at    timestamptz not null default now(),
  sent_at       timestamptz,
  failed_at     timestamptz
);
create index order_outbox_due on order_outbox (claimed_until) where sent_at is null and failed_at is null;
create index order_outbox_ended on order_outbox (created_at) where sent_at is not null or failed_at is not null;
