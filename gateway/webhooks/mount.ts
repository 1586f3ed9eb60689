/**
 * POST /webhooks/:token, outside /api/v1 and without an Authorization header: the token is the
 * credential. A token that is malformed, unknown or revoked gets the gateway's answer for an
 * unknown path (404, nothing more), so tokens cannot be probed. A valid one is charged to the
 * API's writes budget (per webhook; a bad token per client address), then its body is read
 * (at most MAX_ALERT_BYTES, as JSON whatever the content type: TradingView sends text/plain),
 * recognised as ChartInk's (`stocks`) or TradingView's (`symbol`), and placed (alerts.ts).
 */
import type { Server } from "bun";
import type { Context, Hono } from "hono";
import type { Logger } from "../../src/logger.ts";
import { errorBody } from "../app.ts";
import { ApiError, invalid, renderError } from "../api/errors.ts";
import { parseBounded } from "../api/json.ts";
import type { RateLimiter } from "../api/rate-limit.ts";
import type { Services } from "../api/services.ts";
import { check } from "../api/validate.ts";
import { AlertKeys } from "./alert-key.ts";
import { chartInk, tradingView, type AlertContext } from "./alerts.ts";
import { chartInkAlert, MAX_ALERT_BYTES, MAX_ALERT_FIELDS, tradingViewAlert } from "./payloads.ts";

export interface WebhookDeps {
  services: Services;
  logger: Logger;
  /** The API's limiter (its writes budget); none: no limit. */
  rateLimiter?: RateLimiter;
  /** Default: a fresh AlertKeys (tests give one with their own clock). */
  alertKeys?: AlertKeys;
}

/** The body as text, refused past `max` bytes without reading the rest. */
async function readBounded(req: Request, max: number): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  const tooLarge = () => new ApiError("PAYLOAD_TOO_LARGE", `the alert is larger than ${max} bytes`);
  if (declared > max) throw tooLarge();
  if (!req.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.byteLength;
    if (size > max) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseAlert(text: string) {
  if (text.trim() === "") throw new ApiError("BAD_JSON", "the alert has no body: send the alert's JSON message");
  const r = parseBounded(text);
  if (!r.ok) {
    if (r.syntax) throw new ApiError("BAD_JSON", `the alert is not valid JSON: ${r.problems[0]!.message}`);
    throw invalid(r.problems, "alert");
  }
  const json = r.value;
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw invalid([{ path: "body", message: "body: must be a JSON object" }], "alert");
  if (Object.keys(json).length > MAX_ALERT_FIELDS) throw invalid([{ path: "body", message: `body: has more than ${MAX_ALERT_FIELDS} fields` }], "alert");
  const has = (field: string) => Object.hasOwn(json, field);
  if (has("stocks") && has("symbol")) throw invalid([{ path: "stocks", message: "stocks: give stocks (ChartInk) or symbol (TradingView), not both" }], "alert");
  if (has("stocks")) return { kind: "chartink" as const, alert: check(chartInkAlert, json, "ChartInk alert") };
  if (!has("symbol")) throw invalid([{ path: "symbol", message: "symbol: is required (a TradingView alert), or stocks (a ChartInk alert)" }], "alert");
  return { kind: "tradingview" as const, alert: check(tradingViewAlert, json, "TradingView alert") };
}

/**
 * @example
 * mountWebhooks(app, { services, logger, rateLimiter });
 */
export function mountWebhooks(app: Hono, deps: WebhookDeps): void {
  const { services, logger, rateLimiter } = deps;
  const keys = deps.alertKeys ?? new AlertKeys();
  const notFound = (c: Context) => c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`), 404);

  app.post("/webhooks/:token", async (c) => {
    try {
      const webhook = await services.webhooks.resolve(c.req.param("token"));
      if (rateLimiter?.enabled("writes")) {
        const address = (c.env as Server<unknown> | undefined)?.requestIP?.(c.req.raw)?.address ?? "unknown";
        const spent = rateLimiter.take(webhook ? `key:webhook:${webhook.id}` : `ip:${address}`, "writes");
        if (spent) {
          const { perSecond, burst } = rateLimiter.limits.writes;
          throw new ApiError("TOO_MANY_REQUESTS", `too many alerts for this ${webhook ? "webhook" : "client address"}: the limit is ${perSecond} a second, ${burst} at once; retry after ${spent.retryAfterS} s`, {
            details: { budget: "writes", per_second: perSecond, burst, retry_after_s: spent.retryAfterS },
            headers: { "Retry-After": String(spent.retryAfterS) },
          });
        }
      }
      if (!webhook) return notFound(c);
      if (!webhook.strategy) throw new ApiError("CONFLICT", `strategy ${webhook.strategy_id} no longer exists: this webhook places nothing`);
      if (!webhook.strategy.enabled) throw new ApiError("CONFLICT", `strategy ${webhook.strategy_id} is disabled: its webhooks place nothing until it is enabled`);
      const broker = webhook.rule.broker;
      if (!webhook.strategy.brokers.includes(broker) || !services.activeBrokers.includes(broker)) {
        throw new ApiError("CONFLICT", `this webhook trades ${broker}, which is ${services.activeBrokers.includes(broker) ? `not one of strategy ${webhook.strategy_id}'s brokers` : "not an active broker"}: make a webhook for another broker`);
      }

      const text = await readBounded(c.req.raw, MAX_ALERT_BYTES);
      const alert = parseAlert(text);
      const ctx: AlertContext = { webhookId: webhook.id, strategyId: webhook.strategy_id, rule: webhook.rule, alertKey: keys.of(webhook.id, text.trim(), alert.alert.id ?? alert.alert.alert_id) };
      const reply = alert.kind === "chartink" ? await chartInk(services, ctx, alert.alert) : await tradingView(services, ctx, alert.alert);
      logger.info({ webhook_id: webhook.id, strategy_id: webhook.strategy_id, alert: alert.kind, status: reply.status }, "webhook alert taken");
      return c.json(reply.body, reply.status);
    } catch (err) {
      return renderError(c, err, logger);
    }
  });
}
