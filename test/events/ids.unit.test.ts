import { expect, test } from "bun:test";
import { newId } from "../../src/events/envelope.ts";
import { derivedId } from "../../src/events/ids.ts";

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
