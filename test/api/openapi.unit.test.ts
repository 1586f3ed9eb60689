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
    expect(doc.paths["/api/v1/orders/{id}"].delete.parameters).toEqual([{ name: "id", in: "path", required: true, schema: { type: "string" } }]);
  });
});
