/**
 * The faster record encoding (src/log/kafka-writes.ts) writes what @platformatic/kafka's own does:
 * the same bytes for records and whole record batches, the same partition for every key; and the
 * producer's slab encoding (toRecords) hands the client the same keys, values and headers.
 */
import { describe, expect, test } from "bun:test";
import { compatibilityPartitioner, createRecordsBatch, Writer } from "@platformatic/kafka";
import { toRecords } from "../../src/log/kafka-producer.ts";
import { installFastWrites, murmur2Partitioner, originalPrependVarIntLength } from "../../src/log/kafka-writes.ts";

const proto = Writer.prototype as unknown as { prependVarIntLength: typeof originalPrependVarIntLength };

installFastWrites();
const fastPrepend = proto.prependVarIntLength;

/** Runs `fn` with the client's own encoding, then puts the fast one back. */
function withOriginal<T>(fn: () => T): T {
  proto.prependVarIntLength = originalPrependVarIntLength;
  try {
    return fn();
  } finally {
    proto.prependVarIntLength = fastPrepend;
  }
}

/** A deterministic generator, so a failure reproduces. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const bytes = (n: number, rnd: () => number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));

describe("kafka writes", () => {
  test("the fast one is installed, and a length-prefixed writer gives the client's bytes at every varint size", () => {
    expect(fastPrepend).not.toBe(originalPrependVarIntLength);
    // Lengths around the zig-zag varint's size steps (64, 8,192, 1,048,576 bytes).
    for (const length of [0, 1, 5, 63, 64, 65, 300, 8_191, 8_192, 8_193, 1_048_575, 1_048_576, 1_048_577]) {
      const build = () => {
        // The writer's bytes in chunks of 1 to 40, as a record's fields are.
        const w = Writer.create();
        const rnd = random(length);
        for (let left = length; left > 0; ) {
          const n = Math.min(left, 1 + Math.floor(rnd() * 40));
          w.dynamicBuffer.append(bytes(n, rnd));
          left -= n;
        }
        return w.prependVarIntLength();
      };
      const fast = build();
      const original = withOriginal(build);
      expect(fast.length).toBe(original.length);
      expect(Buffer.compare(fast.buffer, original.buffer)).toBe(0);
      expect(fast.dynamicBuffer.buffers.length).toBe(1);
    }
  });

  test("record batches are byte for byte the client's: keys, empty and null values, headers, many records", () => {
    const rnd = random(42);
    for (const count of [1, 2, 17, 1_000]) {
      const messages = () =>
        Array.from({ length: count }, (_, i) => ({
          topic: "t",
          partition: 0,
          timestamp: 1_764_000_000_000n + BigInt(i * 3),
          key: i % 7 === 0 ? undefined : Buffer.from(`k${i}`),
          value: i % 11 === 0 ? Buffer.alloc(0) : bytes(1 + Math.floor(rnd() * 600), rnd),
          headers: i % 5 === 0 ? new Map([[Buffer.from("h"), Buffer.from(`v${i}`)]]) : new Map(),
        }));
      const input = messages();
      const copy = () => input.map((m) => ({ ...m, headers: new Map(m.headers) }));
      const options = { producerId: 12n, producerEpoch: 3, compression: "none" as const };
      const fast = createRecordsBatch(copy() as never, options).buffer;
      const original = withOriginal(() => createRecordsBatch(copy() as never, options).buffer);
      expect(Buffer.compare(fast, original)).toBe(0);
    }
  });

  test("the partitioner picks the client's compatibility partition for every key", () => {
    const rnd = random(3);
    const keys = [
      ...Array.from({ length: 5_000 }, (_, i) => String(100_000 + i)),
      ...Array.from({ length: 2_000 }, () => bytes(Math.floor(rnd() * 40), rnd).toString("latin1")),
      "", "ключ", "🔑", "RELIANCE", "NIFTY 50",
    ];
    for (const k of keys) {
      const key = Buffer.from(k, "utf8");
      expect(murmur2Partitioner(undefined, key)).toBe(compatibilityPartitioner(undefined as never, key));
    }
    expect(murmur2Partitioner(undefined, undefined)).toBe(0);
  });

  test("toRecords hands over each message's key, value and headers exactly, ASCII or not", () => {
    const text = (b: Buffer | undefined) => b?.toString("utf8");
    const messages = [
      { topic: "a", key: "738561", value: '{"type":"market.tick"}' },
      { topic: "a", key: "ключ-🔑", value: "значение ✓ ".repeat(50) }, // more bytes than UTF-16 units
      { topic: "b", key: "k", value: "" },
      { topic: "b", key: "k2", value: new Uint8Array([0, 1, 2, 255]) },
      { topic: "c", key: "k3", value: "plain", headers: { "x-dlq-error": "bad ü", n: "1" } },
      { topic: "c", key: "k4", value: "é".repeat(10_000) },
    ];
    // Sends whose last strings need more bytes than units, at every size near the slab's end.
    for (let n = 1; n < 80; n++) {
      const more = [{ topic: "d", key: "a".repeat(n), value: "x".repeat(n) }, { topic: "d", key: "é".repeat(n), value: "ü✓".repeat(n) }];
      expect(toRecords(more).map((r) => [text(r.key), text(r.value)])).toEqual(more.map((m) => [m.key, m.value]));
    }
    const records = toRecords(messages);
    expect(records.map((r) => [r.topic, text(r.key), r.value instanceof Buffer ? [...r.value].length : -1])).toEqual(
      messages.map((m) => [m.topic, m.key, typeof m.value === "string" ? Buffer.byteLength(m.value) : m.value.length]),
    );
    expect(records.map((r) => (typeof messages[records.indexOf(r)]!.value === "string" ? text(r.value) : [...r.value!]))).toEqual(
      messages.map((m) => (typeof m.value === "string" ? m.value : [...m.value])),
    );
    expect([...(records[4]!.headers as Map<Buffer, Buffer>)].map(([k, v]) => [text(k), text(v)])).toEqual([["x-dlq-error", "bad ü"], ["n", "1"]]);
    expect(records[0]!.headers).toBeUndefined();
  });
});
