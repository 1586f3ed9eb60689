import { expect, test } from "bun:test";
import { ISO_OFFSET, nowIso, toIsoMs } from "../../src/events/iso.ts";

test("toIsoMs gives what Date.toISOString gives, for every form the API accepts", () => {
  const forms = [
    "2026-12-02T09:15:00.123Z",
    "2026-12-02T09:15:00Z",
    "2026-12-02T09:15:00.1Z",
    "2026-12-02T09:15:00.123456Z",
    "2026-12-02T09:15:00+05:30",
    "2026-12-02T09:15:00.999-01:00",
    "2024-02-29T23:59:59.999Z",
    "2026-12-31T23:30:00.000-01:00",
  ];
  for (const s of forms) {
    expect(ISO_OFFSET.test(s)).toBe(true);
    expect(toIsoMs(s)).toBe(new Date(s).toISOString());
  }
});

test("nowIso is the current time as toISOString writes it", () => {
  const before = Date.now();
  const a = nowIso();
  const b = nowIso();
  const after = Date.now();
  expect(a).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(Date.parse(a)).toBeGreaterThanOrEqual(before);
  expect(Date.parse(b)).toBeLessThanOrEqual(after);
  expect(Date.parse(b)).toBeGreaterThanOrEqual(Date.parse(a));
});
