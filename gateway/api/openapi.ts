/**
 * The OpenAPI 3.1 document, generated from the route list: each route's body and query schema is
 * the zod schema that validates it (z.toJSONSchema, as input), each response the zod schema the
 * tests check responses against (as output). Nothing here is written by hand but the prose.
 */
import { z } from "zod";
import { scopeOf, type Route } from "./route.ts";
import { errorResponse } from "./schemas.ts";

type JsonSchema = Record<string, unknown>;

/**
 * A zod schema as JSON Schema (draft 2020-12, OpenAPI 3.1's dialect), without `$schema`.
 *
 * @example
 * jsonSchema(placeOrderBody, "input"); // { type: "object", properties: { broker: …, … } }
 */
export function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;
  return io === "input" ? noNul(rest) : rest;
}

/** Matches a string without NUL; JSON Schema's patterns are ECMA-262 regular expressions. */
const NO_NUL = "^[^\\u0000]*$";

/**
 * Every free string of an input schema (no pattern, enum, const or format of its own, all of which
 * exclude NUL already) gets the pattern that says what the API enforces on every string it takes:
 * no NUL character (json.ts, route.ts).
 */
function noNul(schema: JsonSchema): JsonSchema {
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (typeof node !== "object" || node === null) return;
    const n = node as JsonSchema;
    if (n.type === "string" && n.pattern === undefined && n.enum === undefined && n.const === undefined && n.format === undefined && n.allOf === undefined) n.pattern = NO_NUL;
    for (const v of Object.values(n)) walk(v);
  };
  walk(schema);
  return schema;
}

const ERROR_TEXT: Record<number, string> = {
  400: "The body is not valid JSON (BAD_JSON).",
  401: "No API key, or an unknown or revoked one (UNAUTHORIZED).",
  403: "The API key lacks the scope this route needs (FORBIDDEN).",
  404: "No such order, broker, instrument or strategy (NOT_FOUND).",
  409: "Conflicts with what exists (CONFLICT).",
  413: "The body is larger than the limit (PAYLOAD_TOO_LARGE).",
  415: "The body is not application/json (UNSUPPORTED_MEDIA_TYPE).",
  422: "A field failed validation (VALIDATION_FAILED); details has one {path, message} per bad field.",
  429: "Too many requests for this API key (or client address) in this budget: reads, writes or ticks (TOO_MANY_REQUESTS); retry after the Retry-After header's seconds.",
  503: "A dependency is down or full; retry after the Retry-After header's seconds. The code names the dependency.",
};

const json = (schema: JsonSchema) => ({ "application/json": { schema } });

const RETRY_AFTER = { "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "string", pattern: "^[0-9]+$" } } };

/** OpenAPI's path syntax: "/orders/:id" → "/orders/{id}". */
export const openApiPath = (prefix: string, path: string): string => prefix + path.replace(/:([A-Za-z_]\w*)/g, "{$1}");

function parameters(r: Route): JsonSchema[] {
  const fromPath = [...r.path.matchAll(/:([A-Za-z_]\w*)/g)].map((m) => {
    const declared = r.params?.[m[1]!];
    return { name: m[1], in: "path", required: true, schema: declared ? jsonSchema(declared, "input") : noNul({ type: "string" }) };
  });
  if (!r.query) return fromPath;
  const q = jsonSchema(r.query, "input") as { properties?: Record<string, JsonSchema>; required?: string[] };
  const fromQuery = Object.entries(q.properties ?? {}).map(([name, schema]) => ({
    name,
    in: "query",
    required: q.required?.includes(name) ?? false,
    ...(typeof schema.description === "string" ? { description: schema.description } : {}),
    schema,
  }));
  return [...fromPath, ...fromQuery];
}

function operation(r: Route, errors: JsonSchema): JsonSchema {
  const responses: Record<string, unknown> = {};
  for (const [status, res] of Object.entries(r.responses)) {
    if (res) responses[status] = { description: res.description, content: json(jsonSchema(res.schema, "output")) };
  }
  const codes = new Set([401, 403, 429, 503, ...(r.errors ?? [])]);
  if (r.body || r.query || r.path.includes(":")) codes.add(422); // a NUL in a path parameter is a 422 too
  if (r.body) for (const c of [400, 413, 415]) codes.add(c);
  if (r.params) codes.add(404);
  for (const code of [...codes].sort((a, b) => a - b)) {
    responses[String(code)] = { description: ERROR_TEXT[code] ?? "Error.", ...(code === 503 || code === 429 ? { headers: RETRY_AFTER } : {}), content: json(errors) };
  }
  const scope = scopeOf(r);
  return {
    operationId: `${r.method.toLowerCase()}${r.path.replace(/[/:]+(\w)/g, (_, c: string) => c.toUpperCase()).replace(/\W/g, "")}`,
    summary: r.summary,
    description: `Needs an API key with the \`${scope}\` scope${scope === "read" ? " (a trade key has it too)" : ""}.`,
    tags: [r.tag],
    security: [{ bearerAuth: [] }],
    "x-required-scope": scope,
    parameters: parameters(r),
    ...(r.body ? { requestBody: { required: true, content: json(jsonSchema(r.body, "input")) } } : {}),
    responses,
  };
}

const publicGet = (summary: string, description: string, content: Record<string, unknown> = json({ type: "object" })) => ({
  get: { summary, security: [], tags: ["gateway"], responses: { 200: { description, content } } },
});

/** /ready: ready or not for anyone; the checks only for a valid key (an unknown one is a 401). */
function readyPath(errors: JsonSchema): JsonSchema {
  const status = (s: string) => ({ type: "string", enum: [s] });
  const checks = { type: "array", items: { type: "object", required: ["name", "ok"], properties: { name: { type: "string" }, ok: { type: "boolean" } } } };
  const thread = { type: "object", properties: { heap_mb: { type: "number" }, external_mb: { type: "number" } } };
  const memory = { type: "object", description: "The process's resident set and threads' heaps, in MB (each stage's is in its check)", properties: { rss_mb: { type: "number" }, main: thread, database: thread } };
  return {
    get: {
      summary: "Readiness: every dependency answers (503 while one does not); the checks only for a holder of an API key",
      tags: ["gateway"],
      security: [{}, { bearerAuth: [] }],
      responses: {
        200: { description: "Ready.", content: json({ type: "object", required: ["status"], properties: { status: status("ready"), checks, memory } }) },
        401: { description: ERROR_TEXT[401], content: json(errors) },
        503: { description: "Not ready yet, or a dependency is down.", headers: RETRY_AFTER, content: json({ type: "object", required: ["status"], properties: { status: status("not_ready"), checks } }) },
      },
    },
  };
}

/**
 * The whole document for `routes` mounted under `prefix`.
 *
 * @example
 * const doc = openApiDocument(routes, "/api/v1");
 */
export function openApiDocument(routes: readonly Route[], prefix: string): JsonSchema {
  const errors = jsonSchema(errorResponse, "output");
  const paths: Record<string, Record<string, unknown>> = {
    "/health": publicGet("Liveness", "The process is up."),
    "/ready": readyPath(errors),
    "/metrics": publicGet("Prometheus metrics", "Counters and summaries in the text format.", { "text/plain": { schema: { type: "string" } } }),
    "/openapi.json": publicGet("This document", "OpenAPI 3.1."),
    "/docs": publicGet("This document as an interactive page", "HTML; every file it loads comes from the gateway.", { "text/html": { schema: { type: "string" } } }),
  };
  for (const r of routes) (paths[openApiPath(prefix, r.path)] ??= {})[r.method.toLowerCase()] = operation(r, errors);
  return {
    openapi: "3.1.0",
    info: {
      title: "Alpha Panda gateway API",
      version: "1",
      description: [
        "Money is a decimal string in rupees everywhere (\"2451.35\", \"-12.50\"); a JSON number where money is expected is refused. Quantities are integers.",
        "Errors have one shape: {\"error\":{\"code\",\"message\",\"details\"}}.",
        "WebSocket: GET /ws upgrades (key in the Authorization header, or ?api_key= since browsers cannot set headers on a WebSocket);",
        'send {"action":"subscribe","channels":["orders.paper","portfolio.paper","signals.paper","ticks.738561"]}.',
      ].join("\n\n"),
    },
    servers: [{ url: "/" }],
    components: {
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", description: "An API key (`bun run apikey create --scope read|trade`). read: GET routes and /ws; trade: every route." },
      },
    },
    paths,
  };
}
