/**
 * JSON from a client, with the work spent on it bounded. Before parsing, one pass over the text
 * measures its nesting: a body nested deeper than {@link MAX_JSON_DEPTH} is refused naming the
 * field it is in, without being parsed (parsing deep nesting holds the main thread, and anything
 * that walks it afterwards — validation messages, JSON.stringify, the store — takes longer still,
 * or overflows the stack). After parsing, a string holding a NUL character
 * (`\u0000`) is refused: PostgreSQL cannot store one in text, and nothing we take needs it.
 */
import type { Problem } from "../../src/errors.ts";

/** Nesting deeper than this is refused; our deepest schema (strategy params) needs a few levels. */
export const MAX_JSON_DEPTH = 32;

/** A parsed value, or the problems that stopped it (a field path and a message each). */
export type Bounded = { ok: true; value: unknown } | { ok: false; syntax: boolean; problems: Problem[] };

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJECT = 123;
const OPEN_ARRAY = 91;
const CLOSE_OBJECT = 125;
const CLOSE_ARRAY = 93;
const COMMA = 44;
const COLON = 58;

/** The path down to a too-deep value: keys and indices, cut after the last key (the field a schema names), at most 8. */
function pathText(parts: readonly (string | number)[], root: string): string {
  let last = -1;
  for (let i = 0; i < parts.length; i++) if (typeof parts[i] === "string") last = i;
  const kept = parts.slice(0, last + 1);
  const shown = kept.slice(0, 8).map((p) => (typeof p === "string" ? (p.length > 40 ? `${p.slice(0, 37)}...` : p) : String(p)));
  return shown.length === 0 ? root : shown.join(".") + (kept.length > 8 ? ".…" : "");
}

/**
 * The deepest nesting of `text` if it stays within `max`, else the path where it goes deeper.
 * Strings are skipped with indexOf, so the pass costs little more than reading the text once.
 *
 * @example
 * tooDeep('{"side":[[[]]]}', 2); // ["side", 0]
 */
export function tooDeep(text: string, max: number): (string | number)[] | undefined {
  // Per open container: the key (object) or index (array) of the value being read in it.
  const parts: (string | number)[] = [];
  const kinds: number[] = [];
  let lastString = "";
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let j = i + 1;
      for (;;) {
        j = text.indexOf('"', j);
        if (j < 0) return undefined; // unterminated: JSON.parse says so
        let k = j - 1;
        while (text.charCodeAt(k) === BACKSLASH) k--;
        if ((j - k) % 2 === 1) break; // an even number of backslashes before it: the string ends
        j++;
      }
      // Only keys are kept, and only as long as a path needs (the rest is never looked at).
      lastString = j - i - 1 > 64 ? text.slice(i + 1, i + 65) : text.slice(i + 1, j);
      i = j;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (kinds.length >= max) return parts;
      kinds.push(c);
      parts.push(c === OPEN_ARRAY ? 0 : "");
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      kinds.pop();
      parts.pop();
    } else if (c === COLON) {
      if (kinds.length > 0) parts[parts.length - 1] = lastString;
    } else if (c === COMMA) {
      if (kinds.length > 0 && kinds[kinds.length - 1] === OPEN_ARRAY) parts[parts.length - 1] = (parts[parts.length - 1] as number) + 1;
    }
  }
  return undefined;
}

/** The path of the first string (value or key) holding a NUL, depth-first; the value is at most MAX_JSON_DEPTH deep. */
function nulAt(v: unknown, path: (string | number)[]): (string | number)[] | undefined {
  if (typeof v === "string") return v.includes("\u0000") ? path : undefined;
  if (typeof v !== "object" || v === null) return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const at = nulAt(v[i], [...path, i]);
      if (at) return at;
    }
    return undefined;
  }
  for (const k in v) {
    if (k.includes("\u0000")) return [...path, k.replaceAll("\u0000", "\\u0000")];
    const at = nulAt((v as Record<string, unknown>)[k], [...path, k]);
    if (at) return at;
  }
  return undefined;
}

const fullPath = (parts: readonly (string | number)[], root: string) => (parts.length === 0 ? root : parts.map(String).join("."));

/**
 * Parses `text` as JSON within the bounds: depth at most `maxDepth`, no NUL in any string.
 * `root` names the whole value in a problem's path ("body", "message").
 *
 * @example
 * const r = parseBounded(await c.req.text());
 * if (!r.ok) throw invalid(r.problems);
 */
export function parseBounded(text: string, opts: { maxDepth?: number; root?: string } = {}): Bounded {
  const max = opts.maxDepth ?? MAX_JSON_DEPTH;
  const root = opts.root ?? "body";
  const deep = tooDeep(text, max);
  if (deep) {
    const path = pathText(deep, root);
    return { ok: false, syntax: false, problems: [{ path, message: `${path}: is nested more than ${max} levels deep` }] };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, syntax: true, problems: [{ path: root, message: (err as Error).message }] };
  }
  // JSON text can carry a NUL only as the escape \u0000: no escape, no walk.
  if (text.includes("\\u0000")) {
    const at = nulAt(value, []);
    if (at) {
      const path = fullPath(at, root);
      return { ok: false, syntax: false, problems: [{ path, message: `${path}: must not contain NUL characters (\\u0000)` }] };
    }
  }
  return { ok: true, value };
}

/**
 * A short, bounded description of a rejected value for an error message: never the value of an
 * object or an array (which may be huge or deeply nested), at most 60 characters of anything else.
 *
 * @example
 * preview([[[]]]); // "an array"
 * preview("x".repeat(1e6)); // "\"xxxx…\"" (60 characters)
 */
export function preview(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  const s = typeof v === "string" ? JSON.stringify(v.length > 60 ? v.slice(0, 60) : v) : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
