/**
 * Strategy webhooks: POST /webhooks/:token turns TradingView and ChartInk alerts into orders of
 * the token's strategy; the API makes, lists and revokes the tokens.
 *
 * @example
 * mountWebhooks(app, { services, logger, rateLimiter }); // POST /webhooks/:token
 * const routes = webhookRoutes(services); // under /api/v1/strategies/:id/webhooks
 */
export { mountWebhooks, type WebhookDeps } from "./mount.ts";
export { webhookRoutes } from "./routes.ts";
export { webhookService, type MadeWebhook, type ResolvedWebhook, type WebhookView, type Webhooks } from "./service.ts";
export { webhookRule, withDefaults, type Rule, type WebhookRule } from "./rule.ts";
export { hashToken, makeToken, TOKEN_SHAPE, webhookPath } from "./token.ts";
export { AlertKeys, ALERT_REPLAY_WINDOW_MS } from "./alert-key.ts";
