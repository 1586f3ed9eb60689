/**
 * The faster record reads put on @platformatic/kafka's Reader (src/log/kafka-reads.ts) decode what
 * the client's own reads decode: record batches over responses split into socket chunks, varints
 * of every length, and truncated input, each read both ways from the same bytes.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { DynamicBuffer, OutOfBoundsError } from "@platformatic/dynamic-buffer";
import { createRecordsBatch, Reader, readRecordsBatch } from "@platformatic/kafka";
import { installFastReads, originalReads } from "../../src/log/kafka-reads.ts";

const proto = Reader.prototype as unknown as Record<string, unknown>;

/** Runs `fn` with the client's own reads on the Reader, then puts the fast ones back. */
function withOriginalReads<T>(fn: () => T): T {
  Object.assign(proto, originalReads);
  try {
    return fn();
  } finally {
    installFastReads();
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

/** `bytes` cut into chunks of 1 to `max` bytes, as a socket delivers them. */
function chunked(bytes: Buffer, max: number, rnd: () => number): DynamicBuffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = Math.min(bytes.length - at, 1 + Math.floor(rnd() * max));
    parts.push(Buffer.from(bytes.subarray(at, at + n)));
    at += n;
  }
  return new DynamicBuffer(parts);
}

function zigzag64(v: bigint): bigint {
  return v >= 0n ? v << 1n : (-v << 1n) - 1n;
}

function varint(u: bigint): number[] {
  const out: number[] = [];
  do {
    const low = Number(u & 0x7fn);
    u >>= 7n;
    out.push(u > 0n ? low | 0x80 : low);
  } while (u > 0n);
  return out;
}

function batchBytes(rnd: () => number, count: number): { bytes: Buffer; messages: Array<{ key: Buffer; value: Buffer | null; headers: Map<Buffer, Buffer>; timestamp: bigint }> } {
  const base = 1_796_000_000_000n;
  const messages = Array.from({ length: count }, (_, i) => {
    const headers = new Map<Buffer, Buffer>();
    if (i % 3 === 0) headers.set(Buffer.from("trace"), Buffer.from(`t-${i}`));
    if (i % 7 === 0) headers.set(Buffer.from("empty"), Buffer.alloc(0));
    return {
      key: i % 11 === 0 ? Buffer.alloc(0) : Buffer.from(String(100_000 + Math.floor(rnd() * 900_000))),
      value: i % 13 === 5 ? null : Buffer.from(JSON.stringify({ i, text: "x".repeat(Math.floor(rnd() * 600)) })),
      headers,
      // Deltas from the first timestamp: small, negative, and up to ~2^30 ms.
      timestamp: base + BigInt(Math.floor((rnd() - 0.3) * 2 ** (1 + Math.floor(rnd() * 30)))),
    };
  });
  const writer = createRecordsBatch(messages.map((m) => ({ ...m, topic: "t", partition: 0 })) as never);
  return { bytes: Buffer.from(writer.dynamicBuffer.buffer), messages };
}

describe("the fast record reads", () => {
  beforeAll(() => installFastReads());

  test("are what the client's Reader uses once installed", () => {
    for (const [name, original] of Object.entries(originalReads)) expect(proto[name]).not.toBe(original);
  });

  test("decode record batches exactly as the client's own reads, however the response is chunked", () => {
    const rnd = random(7);
    for (let round = 0; round < 40; round++) {
      const chunkMax = [1, 7, 64, 4096, 1 << 20][round % 5]!;
      // (The client's own reads walk the chunk list on every read: byte-sized chunks stay small.)
      const { bytes, messages } = batchBytes(rnd, 1 + Math.floor(rnd() * (chunkMax === 1 ? 30 : 300)));
      const response = chunked(bytes, chunkMax, rnd);
      const partsBefore = response.buffers.length;

      const fastReader = new Reader(response);
      const fast = readRecordsBatch(fastReader);
      const slowReader = new Reader(chunked(bytes, chunkMax, random(round)));
      const slow = withOriginalReads(() => readRecordsBatch(slowReader));

      expect(fast).toEqual(slow);
      expect(fastReader.position).toBe(slowReader.position);
      expect(fastReader.position).toBe(bytes.length);
      // The copy is the reader's own: the buffer it was given (the connection's) is untouched.
      expect(response.buffers.length).toBe(partsBefore);
      // And what a consumer sees is what was produced.
      expect(fast.records.map((r) => r.key?.toString() ?? null)).toEqual(messages.map((m) => m.key.toString()));
      expect(fast.records.map((r) => r.value?.toString() ?? null)).toEqual(messages.map((m) => m.value?.toString() ?? null));
      expect(fast.records.map((r) => fast.firstTimestamp + r.timestampDelta)).toEqual(messages.map((m) => m.timestamp));
      expect(fast.records.map((r) => r.headers.map(([k, v]) => `${k}=${v}`).join(","))).toEqual(
        messages.map((m) => [...m.headers].map(([k, v]) => `${k}=${v}`).join(",")),
      );
    }
  });

  test("varints of every length read the same, including 64-bit ones past 49 bits", () => {
    const values = [0n, 1n, -1n, 63n, -64n, 64n, 2n ** 31n - 1n, -(2n ** 31n), 2n ** 48n, -(2n ** 48n) - 1n, 2n ** 49n, 2n ** 55n + 3n, 2n ** 62n, -(2n ** 63n)];
    const bytes = Buffer.from(values.flatMap((v) => varint(zigzag64(v))));
    const read = (r: Reader) => values.map(() => r.readVarInt64());
    const fastReader = new Reader(chunked(bytes, 3, random(1)));
    const fast = read(fastReader);
    const slowReader = new Reader(chunked(bytes, 3, random(1)));
    expect(fast).toEqual(withOriginalReads(() => read(slowReader)));
    expect(fastReader.position).toBe(bytes.length);

    const small = [0, 1, 127, 128, 300, 16_383, 16_384, 2 ** 21, 2 ** 28 - 1, 2 ** 31 - 1];
    const unsigned = Buffer.from(small.flatMap((v) => varint(BigInt(v))));
    const u = (r: Reader) => [...small.map(() => r.readUnsignedVarInt()), r.position];
    expect(u(new Reader(chunked(unsigned, 2, random(2))))).toEqual(withOriginalReads(() => u(new Reader(chunked(unsigned, 2, random(2))))));
    const signed = Buffer.from(small.flatMap((v) => varint(BigInt(v))));
    const s = (r: Reader) => [...small.map(() => r.readVarInt()), r.position];
    expect(s(new Reader(chunked(signed, 5, random(3))))).toEqual(withOriginalReads(() => s(new Reader(chunked(signed, 5, random(3))))));
    const int8 = Buffer.from([0, 1, 127, 128, 255]);
    const i8 = (r: Reader) => [0, 1, 2, 3, 4].map(() => r.readInt8());
    expect(i8(new Reader(chunked(int8, 2, random(4))))).toEqual([0, 1, 127, -128, -1]);
  });

  test("a truncated batch fails with the client's OutOfBoundsError, not a wrong record", () => {
    const { bytes } = batchBytes(random(9), 50);
    for (const cut of [bytes.length - 1, bytes.length - 40, Math.floor(bytes.length / 2)]) {
      const truncated = bytes.subarray(0, cut);
      expect(() => readRecordsBatch(new Reader(chunked(truncated, 100, random(cut))))).toThrow(OutOfBoundsError);
      expect(() => withOriginalReads(() => readRecordsBatch(new Reader(chunked(truncated, 100, random(cut)))))).toThrow(OutOfBoundsError);
    }
    // A record that claims more bytes than are left.
    const claim = new Reader(new DynamicBuffer([Buffer.from(varint(zigzag64(10n)).map(Number)), Buffer.from("abc")]));
    expect(() => claim.readVarIntBytes()).toThrow(OutOfBoundsError);
    // Input that ends inside a varint.
    expect(() => new Reader(new DynamicBuffer([Buffer.from([0x01]), Buffer.from([0x96])])).skip(1).readVarInt()).toThrow(OutOfBoundsError);
    expect(() => new Reader(new DynamicBuffer([Buffer.from([0x01]), Buffer.from([0x96, 0x81])])).skip(1).readVarInt64()).toThrow(OutOfBoundsError);
  });
});
