/**
 * How each kind of setting is read from its environment string: empty means the default, and a
 * bad value fails with a message naming what was expected and what was given (passwords masked).
 * The settings themselves are src/config.ts's schema.
 */
import { closeSync, openSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { calendarProblems } from "./market/calendar.ts";

/** Hides the password of a URL-like string, even a malformed one. */
export function maskSecret(value: string): string {
  return value.replace(/\/\/([^:/@]*):([^@]*)@/, "//$1:***@");
}

const show = (v: string) => JSON.stringify(maskSecret(v));
const isEmpty = (v: string | undefined): v is undefined => v === undefined || v.trim() === "";

const fail = (ctx: z.RefinementCtx, message: string) => {
  ctx.addIssue({ code: "custom", message });
  return z.NEVER;
};

/** A URL with one of `protocols` and a host, or undefined. */
export const optionalUrl = (protocols: readonly string[], example: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (isEmpty(v)) return undefined;
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        return fail(ctx, `not a URL, got ${show(v)} (expected e.g. ${example})`);
      }
      if (!protocols.includes(url.protocol)) return fail(ctx, `must start with ${protocols.join(" or ")}//, got ${show(v)}`);
      if (!url.hostname) return fail(ctx, `has no host, got ${show(v)}`);
      return v;
    });

/** A whole number from `min` to `max`; `what` names it in the message ("a timeout in ms"). */
export const int = (what: string, def: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (isEmpty(v)) return def;
      const n = Number(v);
      if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
        return fail(ctx, `must be ${what} (an integer from ${min} to ${max}), got ${JSON.stringify(v)}`);
      }
      return n;
    });

/** One of `values`, case-insensitive. */
export const oneOf = <T extends string>(values: readonly T[], def: T) =>
  z
    .string()
    .optional()
    .transform((v, ctx): T => {
      if (isEmpty(v)) return def;
      const choice = v.trim().toLowerCase() as T;
      if (!values.includes(choice)) return fail(ctx, `must be one of ${values.join(", ")}, got ${JSON.stringify(v)}`);
      return choice;
    });

/** A comma-separated list of `values` (case-insensitive, repeats dropped), `def` when empty. */
export const listOf = <T extends string>(values: readonly T[], def: T[], what: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx): T[] => {
      if (isEmpty(v)) return def;
      const names = v.split(",").map((name) => name.trim().toLowerCase()).filter(Boolean);
      const unknown = names.filter((name) => !(values as readonly string[]).includes(name));
      if (unknown.length > 0) {
        return fail(ctx, `unknown ${what} ${unknown.map((u) => JSON.stringify(u)).join(", ")} in ${JSON.stringify(v)} (valid: ${values.join(", ")})`);
      }
      if (names.length === 0) return fail(ctx, `names no ${what}, got ${JSON.stringify(v)}`);
      return [...new Set(names)] as T[];
    });

/** host:port[,host:port…] (an IPv6 host in brackets), or undefined. */
export const hostPorts = () =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (isEmpty(v)) return undefined;
      const list = v.split(",").map((hostPort) => hostPort.trim()).filter(Boolean);
      const bad = list.filter((hostPort) => !/^[A-Za-z0-9_.\-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(hostPort));
      if (bad.length > 0 || list.length === 0) return fail(ctx, `must be host:port[,host:port…], got ${JSON.stringify(v)}`);
      return list;
    });

/** An absolute folder, `def` when empty; undefined for "memory" (nothing kept across a restart). */
export const folderOrMemory = (def: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const dir = isEmpty(v) ? def : v.trim();
      if (dir.toLowerCase() === "memory") return undefined;
      if (dir.includes("\0")) return fail(ctx, 'must be a folder path or "memory", got a path with a NUL character');
      return resolve(dir);
    });

/** A finite factor ≥ 0. */
export const speed = (def: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (isEmpty(v)) return def;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) return fail(ctx, `must be a speed factor ≥ 0 (0 = as fast as possible), got ${JSON.stringify(v)}`);
      return n;
    });

/**
 * An absolute file path, opened for appending here, once, so a bad path stops the start instead
 * of losing what would have been written; undefined when empty.
 */
export const appendableFile = () =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (isEmpty(v)) return undefined;
      const file = resolve(v.trim());
      const dir = dirname(file);
      if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return fail(ctx, `must be a file in an existing folder, but ${JSON.stringify(dir)} does not exist (got ${JSON.stringify(v)})`);
      try {
        closeSync(openSync(file, "a"));
      } catch (err) {
        return fail(ctx, `cannot be opened for appending (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}), got ${JSON.stringify(v)}`);
      }
      return file;
    });

/** A secret of 16 characters or more with no spaces, never shown in a message; undefined when empty. */
export const secret = () =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return undefined;
      if (v.length < 16 || /\s/.test(v)) return fail(ctx, "must be at least 16 characters with no spaces (the value is not shown: it is a secret)");
      return v;
    });

/** Rupees with at most two decimals ("1000000.00") as integer paise, `defPaise` when empty. */
export const rupees = (defPaise: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (isEmpty(v)) return defPaise;
      if (!/^\d{1,13}(\.\d{1,2})?$/.test(v.trim())) return fail(ctx, `must be an amount in rupees like "1000000.00", got ${JSON.stringify(v)}`);
      const [whole, fraction = ""] = v.trim().split(".");
      return Number(whole) * 100 + Number(fraction.padEnd(2, "0"));
    });

/** A trimmed string, undefined when empty. */
export const optionalText = () =>
  z
    .string()
    .optional()
    .transform((v) => v?.trim() || undefined);

/** A time of day "HH:MM" (24-hour), as minutes after midnight. */
export const timeOfDay = (def: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const text = isEmpty(v) ? def : v.trim();
      const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
      if (!m) return fail(ctx, `must be a time of day HH:MM (24-hour, IST), got ${JSON.stringify(v)}`);
      return Number(m[1]) * 60 + Number(m[2]);
    });

/**
 * An exchange calendar file (src/market/calendar.ts's format), read and checked here so a bad one
 * stops the start; undefined when empty (the calendar shipped in src/market/holidays.json).
 */
export const calendarFile = () =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (isEmpty(v)) return undefined;
      const file = resolve(v.trim());
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(file, "utf8"));
      } catch (err) {
        return fail(ctx, `must be a readable JSON calendar file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}), got ${JSON.stringify(v)}`);
      }
      const problems = calendarProblems(json);
      if (problems.length > 0) return fail(ctx, `is not a calendar file: ${problems.join("; ")}`);
      return file;
    });
