/**
 * GET /openapi.json is generated from the route list: every registered route is in it, with the
 * very schemas that validate its body and query, its responses, and the bearer scheme.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { API_PREFIX, apiRoutes } from "../../gateway/api/index.ts";
import { jsonSchema, openApiPath } from "../../gateway/api/openapi.ts";
import { scopeOf } from "../../gateway/api/route.ts";
import { placeOrderBody } from "../../gateway/api/schemas.ts";
import { FakeServices } from "./fake-services.ts";
import { harness, type Harness } from "./support.ts";

let h: Harness;
let doc: any;
beforeAll(async () => {
  h = await harness();
  doc = (await h.call("GET", "/openapi.json", { key: null })).json;
}, 30_000);
afterAll(() => h?.close());

describe("GET /openapi.json", () => {
  test("is OpenAPI 3.1 with a bearer security scheme", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
  });

  test("every route registered on the app is in the document, and nothing else", () => {
    // Hono lists middleware as method ALL; the catch-all ("*") answers 404/405.
    const registered = h.app.routes
      .filter((r) => r.path.startsWith(API_PREFIX) && r.method !== "ALL")
      .map((r) => `${r.method} ${openApiPath("", r.path)}`);
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .filter(([p]) => p.startsWith(API_PREFIX))
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect([...new Set(registered)].sort()).toEqual(documented.sort());
    expect(documented.length).toBe(apiRoutes(new FakeServices()).length);
    expect(doc.paths["/openapi.json"].get.security).toEqual([]);
  });

  test("each request body and query is the schema that validates it", () => {
    for (const r of apiRoutes(new FakeServices())) {
      const op = doc.paths[openApiPath(API_PREFIX, r.path)][r.method.toLowerCase()];
      expect(op.security).toEqual([{ bearerAuth: [] }]);
      expect(op["x-required-scope"]).toBe(scopeOf(r));
      if (r.body) expect(op.requestBody.content["application/json"].schema).toEqual(jsonSchema(r.body, "input"));
      else expect(op.requestBody).toBeUndefined();
      const query = op.parameters.filter((p: { in: string }) => p.in === "query");
      if (r.query) {
        const props = (jsonSchema(r.query, "input") as { properties: Record<string, unknown> }).properties;
        expect(Object.fromEntries(query.map((p: { name: string; schema: unknown }) => [p.name, p.schema]))).toEqual(props);
      } else expect(query).toEqual([]);
      for (const [status, res] of Object.entries(r.responses)) {
        expect(op.responses[status].content["application/json"].schema).toEqual(jsonSchema(res!.schema, "output"));
      }
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["401", "403", "503"]));
    }
  });

  test("the order body documents money as strings, the order types and the extra-field rule", () => {
    const schema = doc.paths["/api/v1/orders"].post.requestBody.content["application/json"].schema;
    expect(schema).toEqual(jsonSchema(placeOrderBody, "input"));
    expect(schema.properties.price.type).toBe("string");
    expect(schema.properties.order_type.enum).toEqual(["MARKET", "LIMIT", "SL", "SL-M"]);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required.sort()).toEqual(["broker", "order_type", "quantity", "side"]);
    expect(doc.paths["/api/v1/orders/{id}"].delete.parameters).toEqual([
      { name: "id", in: "path", required: true, schema: { type: "string", minLength: 1, maxLength: 128, pattern: "^[^\\u0000]*$", description: "An order_id this API gave out." } },
    ]);
  });
});

/** The body schema of an operation. */
const body = (path: string, method: string) => doc.paths[path][method].requestBody.content["application/json"].schema;

describe("the document is as strict as the validators (issue 30)", () => {
  test("prices above zero, by a pattern a generator can use", () => {
    const re = new RegExp(body("/api/v1/orders", "post").properties.price.pattern);
    for (const ok of ["2451.35", "0.05", "0.5", "1", "9999999999999.99"]) expect(re.test(ok)).toBe(true);
    for (const bad of ["0", "0.00", "0.0", "-1", "01.00", "1.234", "", "10000000000000"]) expect(re.test(bad)).toBe(false);
    for (const v of ["0", "0.00", "2451.35", "01.00"]) {
      const zodSays = placeOrderBody.safeParse({ broker: "paper", instrument_token: 1, side: "BUY", quantity: 1, order_type: "LIMIT", price: v }).success;
      expect(zodSays).toBe(re.test(v));
    }
  });

  test("which order fields go together", () => {
    const [instrument, prices] = body("/api/v1/orders", "post").allOf;
    expect(instrument.oneOf).toHaveLength(2);
    expect(prices.oneOf.find((b: any) => b.properties.order_type.const === "SL")).toMatchObject({ required: ["price", "trigger_price"] });
    expect(prices.oneOf.find((b: any) => b.properties.order_type.const === "MARKET").not.anyOf).toHaveLength(2);
  });

  test("at least one field on PUT limits and PATCH strategies; ranges of the limits", () => {
    const limits = body("/api/v1/risk/{broker}/limits", "put");
    expect(limits.minProperties).toBe(1);
    expect(limits.properties.price_band_fraction).toMatchObject({ minimum: 0, maximum: 1 });
    expect(limits.properties.max_order_quantity).toMatchObject({ type: "integer", minimum: 0 });
    expect(body("/api/v1/strategies/{id}", "patch").minProperties).toBe(1);
  });

  test("known strategy kinds, each with its params", () => {
    const create = body("/api/v1/strategies", "post");
    expect(create.properties.kind.enum).toEqual(["momentum", "mean_reversion"]);
    const momentum = create.anyOf.find((b: any) => b.properties.kind.const === "momentum");
    expect(momentum.required).toEqual(["kind", "params"]);
    expect(momentum.properties.params.required.sort()).toEqual(["lookback", "quantity", "threshold_bps"]);
    expect(momentum.properties.params.additionalProperties).toBe(false);
  });

  test("page sizes 1 to 500; brokers in paths are the active ones; no string takes a NUL", () => {
    const limit = doc.paths["/api/v1/orders"].get.parameters.find((p: any) => p.name === "limit").schema;
    const re = new RegExp(limit.pattern);
    expect(["1", "50", "500"].every((v) => re.test(v))).toBe(true);
    expect(["0", "501", "007", "-1", "1e2"].some((v) => re.test(v))).toBe(false);
    const broker = doc.paths["/api/v1/risk/{broker}/limits"].get.parameters.find((p: any) => p.name === "broker").schema;
    expect(broker.enum).toEqual(["paper"]);
    expect(body("/api/v1/risk/{broker}/state", "post").properties.reason.pattern).toBe("^[^\\u0000]*$");
  });

  test("every operation documents its error answers in the error shape", () => {
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      if (!path.startsWith(API_PREFIX)) continue;
      for (const op of Object.values(ops)) {
        for (const s of ["401", "403", "503"]) expect(op.responses[s].content["application/json"].schema.properties.error).toBeDefined();
        expect(op.responses["503"].headers["Retry-After"]).toBeDefined();
        if (op.requestBody) for (const s of ["400", "413", "415", "422"]) expect(op.responses[s]).toBeDefined();
      }
    }
    expect(doc.paths["/ready"].get.responses["503"].headers["Retry-After"]).toBeDefined();
  });
});
