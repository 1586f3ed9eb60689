import { expect, test } from "bun:test";
import { newId } from "../../src/events/envelope.ts";
import { derivedId, uuidv7Time, wallClockMs } from "../../src/events/ids.ts";

test("a derived id is a UUIDv7, the same for the same parent and salt, with the parent's timestamp", () => {
  const parent = newId();
  const a = derivedId(parent, "momentum_fast/paper");
  expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(derivedId(parent, "momentum_fast/paper")).toBe(a);
  expect(derivedId(parent, "momentum_fast/zerodha")).not.toBe(a);
  expect(derivedId(newId(), "momentum_fast/paper")).not.toBe(a);
  expect(a.slice(0, 13)).toBe(parent.slice(0, 13));
});

test("derived ids of 100k parents do not collide", () => {
  const ids = new Set<string>();
  for (let i = 0; i < 100_000; i++) ids.add(derivedId(newId(), "s"));
  expect(ids.size).toBe(100_000);
});

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("new ids are UUIDv7s that strictly increase and do not collide", () => {
  const ids: string[] = [];
  for (let i = 0; i < 200_000; i++) ids.push(newId());
  for (const id of ids.slice(0, 1_000)) expect(id).toMatch(UUIDV7);
  let increasing = true;
  for (let i = 1; i < ids.length; i++) if (!(ids[i - 1]! < ids[i]!)) increasing = false;
  expect(increasing).toBe(true);
  expect(new Set(ids).size).toBe(ids.length);
});

test("a new id holds when it was made, within the millisecond Date.now() reads", () => {
  for (let i = 0; i < 1_000; i++) {
    const before = Date.now();
    const at = uuidv7Time(newId())!;
    const after = Date.now();
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThan(after + 1);
  }
});

test("a new id's time has sub-millisecond resolution", () => {
  // Ids 0.3 ms apart by the monotonic clock read 0.3 ms apart (not 0 or 1).
  const gaps: number[] = [];
  for (let i = 0; i < 30; i++) {
    const a = newId();
    const t = performance.now();
    while (performance.now() - t < 0.3);
    const b = newId();
    gaps.push(uuidv7Time(b)! - uuidv7Time(a)!);
  }
  gaps.sort((x, y) => x - y);
  const median = gaps[15]!;
  expect(median).toBeGreaterThan(0.28);
  expect(median).toBeLessThan(0.4);
});

test("the wall clock with sub-millisecond resolution agrees with Date.now() on the millisecond", () => {
  for (let i = 0; i < 10_000; i++) {
    const before = Date.now();
    const t = wallClockMs();
    const after = Date.now();
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThan(after + 1);
  }
});
