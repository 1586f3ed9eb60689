/**
 * Risk per broker: the limits (money as decimal strings, fractions as numbers) and the trading
 * state, whose HALTED is the kill switch.
 */
import type { z } from "zod";
import type { Broker } from "../../src/config.ts";
import { brokerRoute } from "./broker-route.ts";
import type { Route } from "./route.ts";
import { riskLimitsBody, riskResponse, riskStateBody } from "./schemas.ts";
import type { RiskLimits, RiskView, Services } from "./services.ts";
import { riskJson } from "./views.ts";

/**
 * The risk limits and state routes over the services.
 *
 * @example
 * register(api, riskRoutes(services), { keys, maxBodyBytes });
 */
export function riskRoutes(services: Services): Route[] {
  /** A change to a broker's risk settings, answered with them as they now are. */
  const change = <B extends z.ZodType>(method: "PUT" | "POST", path: string, summary: string, body: B, apply: (broker: Broker, body: z.output<B>) => Promise<RiskView>) =>
    brokerRoute(services, {
      method,
      path,
      tag: "risk",
      summary,
      body,
      responses: { 200: { description: "Limits and state as they now are.", schema: riskResponse } },
      errors: [400, 404, 413, 415],
      handle: async (req) => ({ status: 200, body: { risk: riskJson(await apply(req.broker, req.body as z.output<B>)) } }),
    });
  return [
    brokerRoute(services, {
      method: "GET",
      path: "/risk/:broker/limits",
      tag: "risk",
      summary: "A broker's risk limits and trading state",
      responses: { 200: { description: "Limits and state.", schema: riskResponse } },
      errors: [404],
      handle: async ({ broker }) => ({ status: 200, body: { risk: riskJson(await services.risk.get(broker)) } }),
    }),
    change("PUT", "/risk/:broker/limits", "Set risk limits: those named change, the rest keep their value", riskLimitsBody, (broker, body) => {
      const limits: RiskLimits = {};
      for (const [name, value] of Object.entries(body)) if (value !== undefined) limits[name] = value;
      return services.risk.putLimits(broker, limits);
    }),
    change(
      "POST",
      "/risk/:broker/state",
      "Set the trading state: ACTIVE, REDUCING (only orders that shrink positions) or HALTED (the kill switch)",
      riskStateBody,
      (broker, body) => services.risk.setState(broker, body.state, body.reason),
    ),
  ];
}
