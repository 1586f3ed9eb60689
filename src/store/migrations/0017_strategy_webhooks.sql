-- Strategy webhooks (POST /webhooks/:token): a per-strategy secret for TradingView, ChartInk and
-- Amibroker alerts. Only the SHA-256 of a token is kept (hex), so a copy of this table places no
-- order; the token itself is shown once, when made. `rule` is how an alert becomes orders (broker,
-- exchange, product, quantity, ChartInk's side), checked by the gateway (gateway/webhooks/rule.ts).

create table strategy_webhooks (
  id           uuid primary key default gen_random_uuid(),
  -- No foreign key: the embedded in-memory store makes its tables unlogged, which a key between
  -- them forbids. The gateway checks that the strategy exists when it makes a webhook.
  strategy_id  text not null check (strategy_id ~ '^[a-z][a-z0-9_]{0,62}$'),
  token_hash   text not null unique check (token_hash ~ '^[0-9a-f]{64}$'),
  rule         jsonb not null default '{}' check (jsonb_typeof(rule) = 'object'),
  created_at   timestamptz not null default now(),
  -- Set once; a revoked webhook stays listed, so what could place orders, and when, is kept.
  revoked_at   timestamptz
);

create index strategy_webhooks_strategy on strategy_webhooks (strategy_id, created_at);
