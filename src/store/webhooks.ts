/**
 * The strategy webhooks (`strategy_webhooks`, migration 0017): only a token's SHA-256 (hex) is
 * kept, never the token. The token format, its hashing and what the rule holds are the gateway's
 * (gateway/webhooks/); these are its statements. The rule is stored as given (a JSON object).
 */
import type { Sql } from "postgres";

/** One webhook as listed: never the token itself, which is not kept. */
export interface WebhookRow {
  id: string;
  strategy_id: string;
  rule: Record<string, unknown>;
  created_at: Date;
  revoked_at: Date | null;
}

/** A webhook to store: its strategy, the SHA-256 of its token and its rule. */
export interface NewWebhook {
  strategy_id: string;
  hash: string;
  rule: Record<string, unknown>;
}

const COLUMNS = "id, strategy_id, rule, created_at, revoked_at";
const row = (r: WebhookRow): WebhookRow => ({ id: r.id, strategy_id: r.strategy_id, rule: r.rule, created_at: r.created_at, revoked_at: r.revoked_at });

/**
 * Stores a new webhook; its row back. A hash already there is a unique violation (23505). That
 * the strategy exists is the caller's to check (the table has no foreign key).
 *
 * @example
 * const made = await insertWebhook(sql, { strategy_id: "breakout", hash: hashToken(token), rule: { quantity: 10 } });
 */
export async function insertWebhook(sql: Sql, webhook: NewWebhook): Promise<WebhookRow> {
  const [made] = await sql<WebhookRow[]>`
    insert into strategy_webhooks (strategy_id, token_hash, rule)
    values (${webhook.strategy_id}, ${webhook.hash}, ${sql.json(webhook.rule as never)})
    returning ${sql.unsafe(COLUMNS)}`;
  return row(made!);
}

/**
 * The unrevoked webhook whose token has this hash; undefined when there is none.
 *
 * @example
 * const webhook = await activeWebhook(sql, hashToken(token));
 */
export async function activeWebhook(sql: Sql, hash: string): Promise<WebhookRow | undefined> {
  const [found] = await sql<WebhookRow[]>`
    select ${sql.unsafe(COLUMNS)} from strategy_webhooks where token_hash = ${hash} and revoked_at is null`;
  return found && row(found);
}

/**
 * Revokes the webhook with this id (of this strategy, when one is named) if it is not revoked
 * yet; whether it did.
 *
 * @example
 * await revokeWebhook(sql, id, { strategyId: "breakout" }); // true the first time, false after
 */
export async function revokeWebhook(sql: Sql, id: string, opts: { strategyId?: string } = {}): Promise<boolean> {
  const done = opts.strategyId === undefined
    ? await sql`update strategy_webhooks set revoked_at = now() where id = ${id} and revoked_at is null returning id`
    : await sql`update strategy_webhooks set revoked_at = now() where id = ${id} and strategy_id = ${opts.strategyId} and revoked_at is null returning id`;
  return done.length > 0;
}

/**
 * Every webhook (of one strategy, when named), revoked ones too, oldest first.
 *
 * @example
 * for (const w of await listWebhooks(sql, { strategyId: "breakout" })) console.log(w.id, w.revoked_at);
 */
export async function listWebhooks(sql: Sql, opts: { strategyId?: string } = {}): Promise<WebhookRow[]> {
  const rows = opts.strategyId === undefined
    ? await sql<WebhookRow[]>`select ${sql.unsafe(COLUMNS)} from strategy_webhooks order by created_at, id`
    : await sql<WebhookRow[]>`select ${sql.unsafe(COLUMNS)} from strategy_webhooks where strategy_id = ${opts.strategyId} order by created_at, id`;
  return rows.map(row);
}
