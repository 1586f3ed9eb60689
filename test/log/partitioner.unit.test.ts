import { expect, test } from "bun:test";
import { murmur2, partitionFor } from "../../src/log/partitioner.ts";

// Vectors from Kafka's own UtilsTest.testMurmur2: the same key must land on the same partition
// in the in-process log as with Kafka's Java client.
test("murmur2 matches Kafka's Java implementation", () => {
  const vectors: Array<[string, number]> = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];
  for (const [input, expected] of vectors) expect(murmur2(new TextEncoder().encode(input))).toBe(expected);
});

test("partitionFor is stable and within range", () => {
  for (let i = 0; i < 1000; i++) {
    const p = partitionFor(`key-${i}`, 6);
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThan(6);
    expect(partitionFor(`key-${i}`, 6)).toBe(p);
  }
});

test("a key's partition is the same when asked again, for any partition count", () => {
  const keys = Array.from({ length: 2_000 }, (_, i) => String(100_000 + i * 37));
  const first = keys.map((k) => [partitionFor(k, 6), partitionFor(k, 12)]);
  const bytes = keys.map((k) => [partitionFor(new TextEncoder().encode(k), 6), partitionFor(new TextEncoder().encode(k), 12)]);
  expect(keys.map((k) => [partitionFor(k, 6), partitionFor(k, 12)])).toEqual(first);
  expect(bytes).toEqual(first);
});
