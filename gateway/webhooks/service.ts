/**
 * The strategy webhooks over the store: made for a strategy that exists (its token shown once,
 * only its hash kept), listed, revoked, and found by token for an alert. The API routes
 * (routes.ts), the alert endpoint (mount.ts) and `bun run webhook` share it.
 */
import type { Sql } from "postgres";
import { AlphaError } from "../../src/errors.ts";
import { getStrategy } from "../../src/store/strategies.ts";
import { withinStore } from "../../src/store/wait.ts";
import { activeWebhook, insertWebhook, listWebhooks, revokeWebhook, type WebhookRow } from "../../src/store/webhooks.ts";
import type { Broker } from "../../src/config.ts";
import { webhookRule, withDefaults, type Rule, type WebhookRule } from "./rule.ts";
import { hashToken, makeToken, TOKEN_SHAPE, webhookPath } from "./token.ts";

/** A webhook as the API answers it: never its token, which is not kept. */
export interface WebhookView {
  id: string;
  strategy_id: string;
  rule: WebhookRule;
  created_at: string;
  revoked_at: string | null;
}

/** A webhook just made: the only time its token is seen. */
export interface MadeWebhook {
  webhook: WebhookView;
  token: string;
  /** Where alerts go: POST this path on the gateway. */
  path: string;
}

/** The webhook an alert's token names, its rule with defaults, and its strategy as it is now. */
export interface ResolvedWebhook {
  id: string;
  strategy_id: string;
  rule: Rule;
  /** Undefined when the strategy was removed since. */
  strategy?: { enabled: boolean; brokers: readonly Broker[] };
}

export interface Webhooks {
  /** Undefined when there is no such strategy; a broker the strategy does not trade is a CONFLICT. */
  create(strategyId: string, rule: WebhookRule): Promise<MadeWebhook | undefined>;
  /** Every webhook of the strategy, revoked ones too; undefined when there is no such strategy. */
  list(strategyId: string): Promise<WebhookView[] | undefined>;
  /** The webhook as revoked; undefined when the strategy has no unrevoked webhook with this id. */
  revoke(strategyId: string, webhookId: string): Promise<WebhookView | undefined>;
  /** The unrevoked webhook of this token; undefined for any other token. */
  resolve(token: string): Promise<ResolvedWebhook | undefined>;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const view = (row: WebhookRow): WebhookView => ({
  id: row.id,
  strategy_id: row.strategy_id,
  rule: row.rule as WebhookRule,
  created_at: row.created_at.toISOString(),
  revoked_at: row.revoked_at?.toISOString() ?? null,
});

/**
 * @example
 * const webhooks = webhookService({ sql: store.sql });
 * const { token, path } = (await webhooks.create("breakout", { quantity: 10 }))!;
 */
export function webhookService(deps: { sql: Sql }): Webhooks {
  const { sql } = deps;
  const strategy = (id: string) => withinStore(getStrategy(sql, id), "cannot read the strategy");
  return {
    async create(strategyId, rule) {
      const found = await strategy(strategyId);
      if (!found) return undefined;
      const checked = webhookRule.parse(rule);
      const broker = withDefaults(checked).broker;
      if (!found.brokers.includes(broker)) {
        throw new AlphaError("CONFLICT", `broker: ${broker} is not one of strategy ${strategyId}'s brokers (${found.brokers.join(", ")}): add it to the strategy, or name one of them`);
      }
      const token = makeToken();
      const row = await withinStore(insertWebhook(sql, { strategy_id: strategyId, hash: hashToken(token), rule: checked }), "cannot store the webhook");
      return { webhook: view(row), token, path: webhookPath(token) };
    },
    async list(strategyId) {
      if (!(await strategy(strategyId))) return undefined;
      return (await withinStore(listWebhooks(sql, { strategyId }), "cannot list the webhooks")).map(view);
    },
    async revoke(strategyId, webhookId) {
      if (!UUID.test(webhookId)) return undefined;
      if (!(await withinStore(revokeWebhook(sql, webhookId, { strategyId }), "cannot revoke the webhook"))) return undefined;
      const rows = await withinStore(listWebhooks(sql, { strategyId }), "cannot read the webhook");
      const revoked = rows.find((r) => r.id === webhookId);
      return revoked && view(revoked);
    },
    async resolve(token) {
      if (!TOKEN_SHAPE.test(token)) return undefined;
      const row = await withinStore(activeWebhook(sql, hashToken(token)), "cannot check the webhook");
      if (!row) return undefined;
      const found = await strategy(row.strategy_id);
      // A rule the table holds was checked when it was made; one that no longer parses places nothing.
      const rule = webhookRule.safeParse(row.rule);
      if (!rule.success) throw new AlphaError("CONFLICT", `webhook ${row.id}'s stored rule is no longer valid: make a new webhook`);
      return {
        id: row.id,
        strategy_id: row.strategy_id,
        rule: withDefaults(rule.data),
        ...(found ? { strategy: { enabled: found.enabled, brokers: found.brokers } } : {}),
      };
    },
  };
}
