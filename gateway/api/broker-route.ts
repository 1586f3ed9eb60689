/**
 * A route under `…/:broker`: the broker in its path must be one of ACTIVE_BROKERS (another is a
 * 404 naming them), and the handler is given it resolved.
 */
import type { z } from "zod";
import type { Broker } from "../../src/config.ts";
import { activeBroker } from "./lookups.ts";
import { route, type Out, type Reply, type Route, type RouteSpec } from "./route.ts";
import { brokerParam } from "./schemas.ts";
import type { Services } from "./services.ts";

export type BrokerRouteSpec<B extends z.ZodType | undefined> = Omit<RouteSpec<B, undefined>, "params" | "query" | "handle"> & {
  handle(req: { broker: Broker; body: Out<B> }): Promise<Reply>;
};

/**
 * @example
 * brokerRoute(services, { method: "GET", path: "/risk/:broker/limits", tag: "risk", summary, responses, errors: [404],
 *   handle: async ({ broker }) => ({ status: 200, body: { risk: riskJson(await services.risk.get(broker)) } }) });
 */
export function brokerRoute<B extends z.ZodType | undefined = undefined>(services: Services, spec: BrokerRouteSpec<B>): Route {
  return route<B>({
    ...spec,
    params: { broker: brokerParam(services) },
    handle: async ({ body, param }) => spec.handle({ broker: activeBroker(services, param("broker")), body }),
  });
}
