/**
 * GET /pipeline: each stage's health (running, restarts, partitions, events, rate, lag, dead
 * letters), tick → fill latency and each DLQ's depth, for the desk to poll.
 */
import { route, type Route } from "./route.ts";
import { pipelineResponse } from "./schemas/pipeline.ts";
import type { Services } from "./services.ts";

/**
 * @example
 * register(api, pipelineRoutes(services), { keys, maxBodyBytes });
 */
export function pipelineRoutes(services: Services): Route[] {
  return [
    route({
      method: "GET",
      path: "/pipeline",
      tag: "pipeline",
      summary: "The pipeline's health: stages, their rate, lag and dead letters, tick → fill latency, DLQ depths",
      responses: { 200: { description: "The stages of this gateway process, and the log's DLQs.", schema: pipelineResponse } },
      async handle() {
        return { status: 200, body: await services.pipeline.status() };
      },
    }),
  ];
}
