import { expect, test } from "bun:test";
import pino from "pino";
import { eventLogger } from "../src/logger.ts";

test("an event's logger carries its ids, and is a pino logger in every way used", () => {
  const lines: Array<Record<string, unknown>> = [];
  const base = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const e = { id: "e1", type: "market.tick" as const, correlation_id: "c1" };
  const log = eventLogger(base, e);
  log.info({ n: 1 }, "one");
  log.child({ extra: true }).warn("two");
  expect(log.isLevelEnabled("debug")).toBe(false);
  expect(lines).toMatchObject([
    { msg: "one", n: 1, correlation_id: "c1", event_id: "e1", event_type: "market.tick" },
    { msg: "two", extra: true, correlation_id: "c1" },
  ]);
  // Unused, it writes nothing and makes no child.
  eventLogger(base, e);
  expect(lines).toHaveLength(2);
});
