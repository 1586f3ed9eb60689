/**
 * Strategy configuration: list, create (201; an id in use is a 409 from the services), patch.
 */
import { z } from "zod";
import type { Problem } from "../../src/errors.ts";
import { ApiError, invalid } from "./errors.ts";
import { route, type Route } from "./route.ts";
import { createStrategyBody, patchStrategyBody, STRATEGY_ID, strategyListResponse, strategyResponse } from "./schemas.ts";
import type { Services } from "./services.ts";

/** A 422 naming each instrument the master does not know. */
function checkInstruments(services: Services, tokens: readonly number[] | undefined): void {
  const problems: Problem[] = (tokens ?? []).flatMap((t, i) =>
    services.instruments.byToken(t) ? [] : [{ path: `instruments.${i}`, message: `instruments.${i}: unknown instrument ${t}` }],
  );
  if (problems.length > 0) throw invalid(problems, "strategy");
}

/**
 * The strategies routes over the services.
 *
 * @example
 * register(api, strategyRoutes(services), { keys, maxBodyBytes });
 */
export function strategyRoutes(services: Services): Route[] {
  return [
    route({
      method: "GET",
      path: "/strategies",
      tag: "strategies",
      summary: "Every configured strategy",
      responses: { 200: { description: "Strategies.", schema: strategyListResponse } },
      async handle() {
        return { status: 200, body: { strategies: await services.strategies.list() } };
      },
    }),
    route({
      method: "POST",
      path: "/strategies",
      tag: "strategies",
      summary: "Configure a new strategy",
      body: createStrategyBody,
      responses: { 201: { description: "Created.", schema: strategyResponse } },
      errors: [400, 409, 413, 415],
      async handle({ body }) {
        checkInstruments(services, body.instruments);
        const strategy = await services.strategies.create({
          id: body.id,
          kind: body.kind,
          params: body.params ?? {},
          instruments: body.instruments ?? [],
          brokers: body.brokers ?? ["paper"],
          enabled: body.enabled ?? true,
        });
        return { status: 201, body: { strategy } };
      },
    }),
    route({
      method: "PATCH",
      path: "/strategies/:id",
      params: { id: z.string().regex(STRATEGY_ID) },
      tag: "strategies",
      summary: "Change a strategy: only the fields given",
      body: patchStrategyBody,
      responses: { 200: { description: "The strategy as it now is.", schema: strategyResponse } },
      errors: [400, 404, 413, 415],
      async handle({ body, param }) {
        const id = param("id");
        checkInstruments(services, body.instruments);
        const strategy = STRATEGY_ID.test(id) ? await services.strategies.update(id, body) : undefined;
        if (!strategy) throw new ApiError("NOT_FOUND", `no strategy ${JSON.stringify(id)}`);
        return { status: 200, body: { strategy } };
      },
    }),
  ];
}
