-- Kite Connect sessions: the access token of the last login, per Kite app (api_key). Kite expires
-- it early every morning, so `bun run kite:session <request_token>` replaces it daily. It is kept
-- as is (not hashed, unlike api_keys): we must send it to Kite. Treat a copy of this table as a
-- credential until the next morning.

create table kite_sessions (
  api_key      text primary key check (length(api_key) > 0),
  access_token text not null check (length(access_token) > 0),
  user_id      text,
  created_at   timestamptz not null default now()
);
