/**
 * A strategy's webhooks in the API: make one (201 with its token and path, shown this once),
 * list them, revoke one. The strategy must exist (404); the rule's broker must be active (404,
 * as POST /orders answers) and one of the strategy's brokers (409).
 */
import { z } from "zod";
import { ApiError } from "../api/errors.ts";
import { activeBroker } from "../api/lookups.ts";
import { route, type Route } from "../api/route.ts";
import { STRATEGY_ID } from "../api/schemas/fields.ts";
import type { Services } from "../api/services.ts";
import { webhookRule, withDefaults } from "./rule.ts";
import { UUID } from "./service.ts";

const webhookOut = z.object({
  id: z.string(),
  strategy_id: z.string(),
  rule: webhookRule,
  created_at: z.string(),
  revoked_at: z.string().nullable(),
});

const madeResponse = z
  .object({
    webhook: webhookOut,
    token: z.string().meta({ description: "The webhook's secret, shown only in this answer: only its SHA-256 is kept." }),
    path: z.string().meta({ description: "Where alerts go: POST it on this gateway, e.g. http://127.0.0.1:8080/webhooks/wh_…" }),
  })
  .meta({ description: "The webhook, its token and its path." });

const strategyParam = z.string().regex(STRATEGY_ID);
const noStrategy = (id: string) => new ApiError("NOT_FOUND", `no strategy ${JSON.stringify(id)}`);

/**
 * @example
 * register(api, webhookRoutes(services), { keys, maxBodyBytes });
 */
export function webhookRoutes(services: Services): Route[] {
  return [
    route({
      method: "POST",
      path: "/strategies/:id/webhooks",
      params: { id: strategyParam },
      tag: "strategies",
      summary: "Make a webhook for the strategy (TradingView, ChartInk, Amibroker alerts): its token is shown once",
      body: webhookRule,
      responses: { 201: { description: "Made: keep the token now, it is not shown again.", schema: madeResponse } },
      errors: [400, 404, 409, 413, 415],
      async handle({ body, param }) {
        // As POST /orders answers a broker that is not running: 404.
        activeBroker(services, withDefaults(body).broker);
        const made = await services.webhooks.create(param("id"), body);
        if (!made) throw noStrategy(param("id"));
        return { status: 201, body: made };
      },
    }),
    route({
      method: "GET",
      path: "/strategies/:id/webhooks",
      params: { id: strategyParam },
      tag: "strategies",
      summary: "The strategy's webhooks, revoked ones too (never their tokens)",
      responses: { 200: { description: "Webhooks, oldest first.", schema: z.object({ webhooks: z.array(webhookOut) }) } },
      errors: [404],
      async handle({ param }) {
        const webhooks = await services.webhooks.list(param("id"));
        if (!webhooks) throw noStrategy(param("id"));
        return { status: 200, body: { webhooks } };
      },
    }),
    route({
      method: "DELETE",
      path: "/strategies/:id/webhooks/:webhook_id",
      params: { id: strategyParam, webhook_id: z.string().regex(UUID) },
      tag: "strategies",
      summary: "Revoke a webhook: its token places nothing from now on",
      responses: { 200: { description: "The webhook as revoked.", schema: z.object({ webhook: webhookOut }) } },
      errors: [404],
      async handle({ param }) {
        const webhook = await services.webhooks.revoke(param("id"), param("webhook_id"));
        if (!webhook) throw new ApiError("NOT_FOUND", `strategy ${JSON.stringify(param("id"))} has no unrevoked webhook ${JSON.stringify(param("webhook_id"))}`);
        return { status: 200, body: { webhook } };
      },
    }),
  ];
}

