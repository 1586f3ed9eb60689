/**
 * A route is data: method, path, scope, the zod schemas of its body and query, its responses and
 * its handler. The same list registers the Hono routes and generates the OpenAPI document, so the
 * document cannot drift from what is validated.
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { allows, bearerKey, type ApiKeys, type Scope } from "./auth.ts";
import type { Problem } from "../../src/errors.ts";
import { ApiError, invalid } from "./errors.ts";
import { preview } from "./json.ts";
import { check, readJson } from "./validate.ts";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** What a schema gives a handler: its output, or undefined without a schema. */
export type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface Reply {
  status: ContentfulStatusCode;
  body: unknown;
}

export interface RouteSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined> {
  method: Method;
  /** Hono syntax, below /api/v1: "/orders/:id". */
  path: string;
  summary: string;
  tag: string;
  /** Default: `read` for GET, `trade` for everything else. */
  scope?: Scope;
  body?: B;
  /** A hand-written parser for `body`'s common case: its result when the input is certainly valid (as zod would give it), else undefined and zod decides. */
  fastBody?: (input: unknown) => Out<B> | undefined;
  /** Path parameters' schemas, for the document; a value that does not fit is a 404 (no such thing). */
  params?: Record<string, z.ZodType>;
  /** Strict: an unknown query parameter is a 422 (a typo would otherwise drop a filter). */
  query?: Q;
  /** Success responses; the error responses are added from what the route can do. */
  responses: Partial<Record<ContentfulStatusCode, { description: string; schema: z.ZodType }>>;
  /** Statuses besides the common ones (401, 403, 422, 503) this route may answer. */
  errors?: ContentfulStatusCode[];
  handle(req: { c: Context; body: Out<B>; query: Out<Q>; param(name: string): string }): Promise<Reply>;
}

/** A route with its types erased, as the registry and the OpenAPI generator hold it. */
export type Route = RouteSpec<z.ZodType | undefined, z.ZodType | undefined>;

/**
 * @example
 * route({ method: "GET", path: "/instruments", summary: "…", tag: "instruments",
 *   responses: { 200: { description: "…", schema } }, handle: async () => ({ status: 200, body }) });
 */
export const route = <B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(spec: RouteSpec<B, Q>): Route =>
  spec as unknown as Route;

/**
 * The scope a route needs.
 *
 * @example
 * scopeOf(route); // "read" for a GET
 */
export const scopeOf = (r: Route): Scope => r.scope ?? (r.method === "GET" ? "read" : "trade");

/** Bodies made once and never changed (see {@link immutableBody}) → their JSON, made once. */
const serialized = new WeakMap<object, string>();
const JSON_TYPE = { "Content-Type": "application/json" } as const;

/**
 * Marks a response body that will never change (its maker deep-freezes it and hands out the same
 * object while the data is the same) so that its JSON is made once, not on every request. For hot
 * read models such as the portfolio.
 *
 * @example
 * return { status: 200, body: immutableBody(deepFrozenView) };
 */
export function immutableBody<T extends object>(body: T): T {
  if (!serialized.has(body)) serialized.set(body, JSON.stringify(body));
  return body;
}

/** The verified key's scopes, set by {@link requireKey} for the handlers (GET /whoami). */
const KEY_SCOPES = "apiKeyScopes";

/**
 * The scopes of the key a request was let in with.
 *
 * @example
 * scopesOf(c); // ["trade"]
 */
export const scopesOf = (c: Context): Scope[] => (c.get(KEY_SCOPES as never) as Scope[] | undefined) ?? [];

const challenge = (error?: string) => ({ "WWW-Authenticate": `Bearer realm="alpha-panda"${error ? `, error="${error}"` : ""}` });

/**
 * 401 without a valid key, 403 when the key lacks `scope`.
 *
 * @example
 * app.get("/x", requireKey(keys, "read"), handler);
 */
export function requireKey(keys: ApiKeys, scope: Scope): MiddlewareHandler {
  return async (c, next) => {
    const key = bearerKey(c.req.header("authorization"));
    if (!key) throw new ApiError("UNAUTHORIZED", "an API key is required: send Authorization: Bearer <key>", { headers: challenge() });
    const scopes = await keys.verify(key);
    if (!scopes) throw new ApiError("UNAUTHORIZED", "the API key is unknown or revoked", { headers: challenge("invalid_token") });
    if (!allows(scopes, scope)) {
      throw new ApiError("FORBIDDEN", `${c.req.method} ${c.req.path} needs an API key with the ${scope} scope; this key has ${scopes.join(", ")}`, {
        headers: challenge("insufficient_scope"),
      });
    }
    c.set(KEY_SCOPES as never, scopes as never);
    await next();
  };
}

/**
 * A 422 naming each path parameter and query parameter that holds a NUL (%00): PostgreSQL cannot
 * take one in text, and no identifier of ours has one. Called only when the URL has a %00.
 */
function refuseNul(c: Context): void {
  const problems: Problem[] = [];
  for (const [name, value] of Object.entries(c.req.param() as Record<string, string>)) {
    if (value.includes("\u0000")) problems.push({ path: name, message: `${name}: must not contain NUL characters (%00)` });
  }
  for (const [name, value] of new URL(c.req.url).searchParams) {
    const shown = name.replaceAll("\u0000", "%00").slice(0, 40);
    if (name.includes("\u0000") || value.includes("\u0000")) problems.push({ path: shown, message: `${shown}: must not contain NUL characters (%00)` });
  }
  if (problems.length > 0) throw invalid(problems, "request");
}

/**
 * Registers `routes` on `api`, each behind its key check and, with a body, the size limit.
 *
 * @example
 * register(api, apiRoutes(services), { keys, maxBodyBytes: 1024 * 1024 });
 */
export function register(api: Hono, routes: readonly Route[], opts: { keys: ApiKeys; maxBodyBytes: number }): void {
  const tooLarge = bodyLimit({
    maxSize: opts.maxBodyBytes,
    onError: () => {
      throw new ApiError("PAYLOAD_TOO_LARGE", `the body is larger than ${opts.maxBodyBytes} bytes`);
    },
  });
  for (const r of routes) {
    const guard = requireKey(opts.keys, scopeOf(r));
    const handle: MiddlewareHandler = async (c) => {
      if (c.req.url.includes("%00")) refuseNul(c);
      for (const [name, schema] of Object.entries(r.params ?? {})) {
        const value = c.req.param(name) ?? "";
        if (!schema.safeParse(value).success) throw new ApiError("NOT_FOUND", `unknown ${name} ${preview(value)}`);
      }
      let body: unknown;
      if (r.body) {
        const json = await readJson(c);
        body = r.fastBody?.(json) ?? check(r.body, json, "request body");
      }
      const query = r.query ? check(r.query, c.req.query(), "query string", "query") : undefined;
      const reply = await r.handle({ c, body, query, param: (name) => c.req.param(name) ?? "" });
      const made = typeof reply.body === "object" && reply.body !== null ? serialized.get(reply.body) : undefined;
      return made === undefined ? c.json(reply.body, reply.status) : c.body(made, reply.status, JSON_TYPE);
    };
    if (r.body) api.on(r.method, r.path, guard, tooLarge, handle);
    else api.on(r.method, r.path, guard, handle);
  }
}
