import { describe, expect, test } from "bun:test";
import { newId } from "../../src/events/ids.ts";
import { LatencyWindow, uuidv7Time, wallMs } from "../../src/stage/latency.ts";

describe("tick → fill latency", () => {
  test("reads the time of a UUIDv7 and refuses other ids", () => {
    const before = Date.now();
    const bun = Bun.randomUUIDv7();
    // Another generator's UUIDv7: somewhere within its millisecond.
    expect(uuidv7Time(bun)).toBeGreaterThanOrEqual(before);
    expect(uuidv7Time(bun)).toBeLessThan(Date.now() + 1);
    // Ours (the envelopes'): the time it was made, to the microsecond.
    const start = wallMs();
    const id = newId();
    const end = wallMs();
    expect(uuidv7Time(id)).toBeGreaterThanOrEqual(start - 1 / 4096);
    expect(uuidv7Time(id)).toBeLessThanOrEqual(end + 1 / 4096);
    expect(uuidv7Time(crypto.randomUUID())).toBeUndefined();
    expect(uuidv7Time("fill-1")).toBeUndefined();
  });

  test("a sample is the time since the id was made, not since its millisecond began", () => {
    const w = new LatencyWindow();
    const ids: string[] = [];
    const made: number[] = [];
    // Ids made at different points of their milliseconds, each recorded 0.25 ms later.
    for (let i = 0; i < 40; i++) {
      const t = wallMs();
      made.push(t);
      ids.push(newId());
      while (wallMs() < t + 0.25 + (i % 4) * 0.2);
    }
    const now = wallMs();
    for (const id of ids) w.recordSince(uuidv7Time(id), now);
    const s = w.rotate()!;
    // The oldest sample is the first id's true age (within a few µs), the newest the last's:
    // whole milliseconds would have read up to 1 ms more.
    expect(Math.abs(s.max - (now - made[0]!))).toBeLessThan(0.05);
    expect(s.count).toBe(40);
  });

  test("quantiles over the window; count and sum since the start", () => {
    const w = new LatencyWindow(3);
    expect(w.rotate()).toBeUndefined();
    const now = wallMs();
    for (let i = 1; i <= 100; i++) w.recordSince(now - i, now); // 1..100 ms (the clock given: no time passes)
    w.recordSince(undefined);
    const s = w.rotate()!;
    expect(s.count).toBe(100);
    expect(s.window_count).toBe(100);
    expect(s.p50).toBeGreaterThanOrEqual(50);
    expect(s.p50).toBeLessThan(50.1);
    expect(s.p99).toBeGreaterThanOrEqual(99);
    expect(s.max).toBeGreaterThanOrEqual(100);
    expect(s.sum_ms).toBeGreaterThanOrEqual(5050);
    // Three more seconds without samples: the window is empty, the totals stay.
    w.rotate();
    w.rotate();
    const later = w.rotate()!;
    expect(later.window_count).toBe(0);
    expect(later.count).toBe(100);
  });

  test("a second that leaves the window takes its samples with it: quantiles and max are the newer seconds'", () => {
    const w = new LatencyWindow(3);
    const now = wallMs();
    w.recordSince(now - 1_000, now);
    expect(w.rotate()!.max).toBeGreaterThanOrEqual(1_000);
    for (let second = 0; second < 3; second++) {
      for (let i = 0; i < 10; i++) w.recordSince(now - 10, now);
      const s = w.rotate()!;
      // The 1,000 ms sample is in the window for its own second and the two after it.
      if (second < 2) expect(s.max).toBeGreaterThanOrEqual(1_000);
      else {
        expect(s.max).toBeLessThan(10.1);
        expect(s.p99).toBeLessThan(10.1);
        expect(s.window_count).toBe(30);
      }
    }
  });

  test("a start in the future counts as 0, a very old one as 60 s, one over an hour old (a replayed file's time) not at all", () => {
    const w = new LatencyWindow(1);
    w.recordSince(wallMs() + 5_000);
    w.recordSince(wallMs() - 90_000);
    w.recordSince(0);
    const s = w.rotate()!;
    expect(s.window_count).toBe(2);
    expect(s.p50).toBe(0);
    expect(s.max).toBeGreaterThanOrEqual(60_000);
  });
});
