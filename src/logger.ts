/**
 * pino, writing JSON lines to stdout, in every thread. No transports: they run in worker threads
 * of their own, which misbehave on Bun; pretty output is `bun run gateway | npx pino-pretty`.
 */
import pino, { type Logger } from "pino";
import type { Envelope } from "./events/envelope.ts";

export type { Logger };

/**
 * @example
 * const log = createLogger({ level: "info", name: "gateway" });
 * log.info({ port: 8080 }, "listening");
 */
export function createLogger(opts: { level: string; name: string }): Logger {
  return pino({
    level: opts.level,
    base: { service: "alpha-panda", stage: opts.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // Belt and braces: config is logged through redactedConfig, but a stray secret is masked too.
    redact: { paths: ["password", "*.password", "access_token", "*.access_token", "api_secret", "*.api_secret"], censor: "***" },
  });
}

/**
 * A child logger for handling one event: every line carries its correlation id. The child is made
 * when the logger is first used: most events log nothing, and a pino child costs microseconds,
 * which every stage paid on every tick.
 *
 * @example
 * eventLogger(log, envelope).warn("price outside the band");
 */
export function eventLogger(log: Logger, e: Pick<Envelope, "id" | "type" | "correlation_id">): Logger {
  let child: Logger | undefined;
  return new Proxy(log, {
    get(_target, key) {
      child ??= log.child({ correlation_id: e.correlation_id, event_id: e.id, event_type: e.type });
      const value: unknown = Reflect.get(child, key, child);
      return typeof value === "function" ? value.bind(child) : value;
    },
  });
}

/**
 * A connection URL fit for a log line: its password masked.
 *
 * @example
 * redactUrl("postgres://alpha:secret@db:5432/alpha", "database"); // "postgres://alpha:***@db:5432/alpha"
 */
export function redactUrl(url: string, what: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return `(unparseable ${what} URL)`;
  }
}
