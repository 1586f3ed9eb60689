/**
 * Risk per broker: the limits (money as decimal strings, fractions as numbers) and the trading
 * state, whose HALTED is the kill switch.
 */
import { activeBroker } from "./lookups.ts";
import { route, type Route } from "./route.ts";
import { brokerParam, riskLimitsBody, riskResponse, riskStateBody } from "./schemas.ts";
import type { RiskLimits, Services } from "./services.ts";
import { riskJson } from "./views.ts";

/**
 * The risk limits and state routes over the services.
 *
 * @example
 * register(api, riskRoutes(services), { keys, maxBodyBytes });
 */
export function riskRoutes(s: Services): Route[] {
  const params = { broker: brokerParam(s) };
  return [
    route({
      method: "GET",
      path: "/risk/:broker/limits",
      params,
      tag: "risk",
      summary: "A broker's risk limits and trading state",
      responses: { 200: { description: "Limits and state.", schema: riskResponse } },
      errors: [404],
      async handle({ param }) {
        return { status: 200, body: { risk: riskJson(await s.risk.get(activeBroker(s, param("broker")))) } };
      },
    }),
    route({
      method: "PUT",
      path: "/risk/:broker/limits",
      params,
      tag: "risk",
      summary: "Set risk limits: those named change, the rest keep their value",
      body: riskLimitsBody,
      responses: { 200: { description: "Limits and state as they now are.", schema: riskResponse } },
      errors: [400, 404, 413, 415],
      async handle({ body, param }) {
        const broker = activeBroker(s, param("broker"));
        const limits: RiskLimits = {};
        for (const [k, v] of Object.entries(body)) if (v !== undefined) limits[k] = v;
        return { status: 200, body: { risk: riskJson(await s.risk.putLimits(broker, limits)) } };
      },
    }),
    route({
      method: "POST",
      path: "/risk/:broker/state",
      params,
      tag: "risk",
      summary: "Set the trading state: ACTIVE, REDUCING (only orders that shrink positions) or HALTED (the kill switch)",
      body: riskStateBody,
      responses: { 200: { description: "Limits and state as they now are.", schema: riskResponse } },
      errors: [400, 404, 413, 415],
      async handle({ body, param }) {
        const broker = activeBroker(s, param("broker"));
        return { status: 200, body: { risk: riskJson(await s.risk.setState(broker, body.state, body.reason)) } };
      },
    }),
  ];
}
