/**
 * GET /api/v1/pipeline over the services: the shape the desk polls, in OpenAPI, a read key
 * enough, a dependency down a 503.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { pipelineResponse } from "../../gateway/api/schemas/pipeline.ts";
import { AlphaError } from "../../src/errors.ts";
import { harness, type Harness } from "./support.ts";

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 30_000);
afterAll(() => h?.close());

test("a read key sees each stage, tick → fill and the DLQ depths", async () => {
  const r = await h.call("GET", "/api/v1/pipeline", { key: h.readKey });
  expect(r.status).toBe(200);
  expect(pipelineResponse.parse(r.json)).toEqual(h.services.pipelineView);
  expect(r.json.stages[0]).toEqual({ name: "risk", state: "running", running: true, restarts: 1, partitions: 6, handled: 1_234, produced: 56, rate_per_s: 12, lag: 3, dead_letters: 1 });
});

test("no key: 401; another method: 405", async () => {
  expect((await h.call("GET", "/api/v1/pipeline", { key: null })).status).toBe(401);
  expect((await h.call("POST", "/api/v1/pipeline", { body: {} })).status).toBe(405);
});

test("a dependency down is a 503 with Retry-After", async () => {
  h.services.failure = new AlphaError("LOG_UNAVAILABLE", "the log is down", { canRetry: true });
  try {
    const r = await h.call("GET", "/api/v1/pipeline");
    expect(r.status).toBe(503);
    expect(r.headers.get("retry-after")).toBe("5");
  } finally {
    h.services.failure = undefined;
  }
});

test("is in /openapi.json with its schema, under the read scope", async () => {
  const op = (await h.call("GET", "/openapi.json", { key: null })).json.paths["/api/v1/pipeline"].get;
  expect(op["x-required-scope"]).toBe("read");
  const schema = op.responses["200"].content["application/json"].schema;
  expect(schema.required).toEqual(["stages", "tick_to_fill_ms", "dlq"]);
  expect(Object.keys(schema.properties.stages.items.properties)).toEqual(["name", "state", "running", "restarts", "partitions", "handled", "produced", "rate_per_s", "lag", "dead_letters"]);
});
