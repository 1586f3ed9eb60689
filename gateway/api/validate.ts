/**
 * Reading a request: its JSON body (415 when not JSON, 400 when malformed) and its query string,
 * each checked against a zod schema. A failure is one 422 listing every bad field; each problem's
 * message starts with the field's path, so the message alone says what to fix.
 */
import type { Context } from "hono";
import type { z } from "zod";
import type { Problem } from "../../src/errors.ts";
import { ApiError, invalid } from "./errors.ts";
import { parseBounded, preview } from "./json.ts";

// Never the rejected value itself: it may be huge or nested 100,000 deep (json.ts).
const clip = preview;

const kindOf = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `${typeof v} ${clip(v)}`);

const EXPECTED: Record<string, string> = { int: "an integer", number: "a number", string: "a string", object: "an object", array: "an array", boolean: "true or false" };

function messageOf(i: z.core.$ZodIssue): string {
  const input = (i as { input?: unknown }).input;
  if ((i.code === "invalid_type" || i.code === "invalid_value") && input === undefined) return "is required";
  // A message given in the schema wins; zod's defaults start with "Invalid input" / "Invalid option".
  if (i.code === "invalid_type" && i.message.startsWith("Invalid input")) return `must be ${EXPECTED[i.expected] ?? i.expected}, got ${kindOf(input)}`;
  if (i.code === "invalid_value" && i.message.startsWith("Invalid option")) {
    return `must be one of ${i.values.map((v) => String(v)).join(", ")}, got ${clip(input)}`;
  }
  const got = i.code !== "custom" && input !== undefined && !i.message.includes(", got ") ? `, got ${clip(input)}` : "";
  return `${i.message}${got}`;
}

/**
 * zod issues as problems, one per bad field; unknown fields are named one by one (usually typos).
 *
 * @example
 * problemsOf(result.error.issues); // [{ path: "quantity", message: "quantity: must be an integer, got string \"1\"" }]
 */
export function problemsOf(issues: readonly z.core.$ZodIssue[], root = "body"): Problem[] {
  // Keys come from the client: each shown at most 40 characters long.
  const at = (path: readonly PropertyKey[]) => path.map((p) => (typeof p === "string" && p.length > 40 ? `${p.slice(0, 37)}...` : String(p))).join(".") || root;
  const problems = issues.flatMap((i): Problem[] => {
    if (i.code === "unrecognized_keys") {
      return i.keys.slice(0, MAX_PROBLEMS + 1).map((k) => {
        const path = at([...i.path, k]);
        return { path, message: `${path}: is not a known field` };
      });
    }
    const path = at(i.path);
    return [{ path, message: `${path}: ${messageOf(i)}` }];
  });
  // A body of 100,000 bad fields gets the first few named, not a megabyte of messages.
  const total = issues.reduce((n, i) => n + (i.code === "unrecognized_keys" ? i.keys.length : 1), 0);
  if (total <= MAX_PROBLEMS) return problems;
  return [...problems.slice(0, MAX_PROBLEMS), { path: root, message: `${root}: and ${total - MAX_PROBLEMS} more problems` }];
}

/** Problems named in one answer at most; the rest are counted. */
export const MAX_PROBLEMS = 20;

/**
 * Validates a value; a 422 naming every bad field when it does not fit.
 *
 * @example
 * const body = check(orderRequest, json, "order");
 */
export function check<S extends z.ZodType>(schema: S, value: unknown, what: string, root?: string): z.output<S> {
  const r = schema.safeParse(value, { reportInput: true });
  if (!r.success) throw invalid(problemsOf(r.error.issues, root), what);
  return r.data;
}

/**
 * The body as JSON: 415 when the content type is not JSON, 400 when it does not parse, 422 naming
 * the field when it is nested too deep or holds a NUL (json.ts).
 *
 * @example
 * const order = check(placeOrderBody, await readJson(c), "request body");
 */
export async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", `the body must be JSON: send Content-Type: application/json${type ? ` (got ${clip(type)})` : ""}`);
  }
  const r = parseBounded(await c.req.text());
  if (r.ok) return r.value;
  if (r.syntax) throw new ApiError("BAD_JSON", `the body is not valid JSON: ${r.problems[0]!.message}`);
  throw invalid(r.problems, "request body");
}
