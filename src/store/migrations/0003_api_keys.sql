-- API keys for the gateway's REST and WebSocket API. Only the SHA-256 of a key is kept (hex), so
-- a copy of this table lets nobody call the API; the key itself is shown once, when made.
-- Scopes: 'read' (GET routes, WebSocket) and 'trade' (every route; trade implies read).

create table api_keys (
  id          uuid primary key default gen_random_uuid(),
  name        text not null default '' check (length(name) <= 100),
  key_hash    text not null unique check (key_hash ~ '^[0-9a-f]{64}$'),
  scopes      text[] not null
              check (cardinality(scopes) > 0
                     and array_position(scopes, null) is null
                     and scopes <@ array['read', 'trade']),
  created_at  timestamptz not null default now(),
  -- Set once; a revoked key stays, so the log of who had access does too.
  revoked_at  timestamptz
);
