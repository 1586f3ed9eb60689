/**
 * Reading a request: its JSON body (415 when not JSON, 400 when malformed) and its query string,
 * each checked against a zod schema. A failure is one 422 listing every bad field; each problem's
 * message starts with the field's path, so the message alone says what to fix.
 */
import type { Context } from "hono";
import type { z } from "zod";
import type { Problem } from "../../src/errors.ts";
import { ApiError, invalid } from "./errors.ts";

const clip = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

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
  const at = (path: readonly PropertyKey[]) => path.map(String).join(".") || root;
  return issues.flatMap((i): Problem[] => {
    if (i.code === "unrecognized_keys") {
      return i.keys.map((k) => {
        const path = at([...i.path, k]);
        return { path, message: `${path}: is not a known field` };
      });
    }
    const path = at(i.path);
    return [{ path, message: `${path}: ${messageOf(i)}` }];
  });
}

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
 * The body as JSON: 415 when the content type is not JSON, 400 when it does not parse.
 *
 * @example
 * const order = check(placeOrderBody, await readJson(c), "request body");
 */
export async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", `the body must be JSON: send Content-Type: application/json${type ? ` (got ${clip(type)})` : ""}`);
  }
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError("BAD_JSON", `the body is not valid JSON: ${(err as Error).message}`);
  }
}
