/**
 * Faster record encoding for @platformatic/kafka (the version in src/log/kafka-patched-version.ts,
 * checked before installing), the produce side's counterpart of src/log/kafka-reads.ts; both are
 * installed by `new KafkaLog()`. The client builds a record batch as a list of chunks, one per
 * field (a fresh Buffer for every varint), and concatenates that list twice (for the CRC-32C and
 * for the request); its partitioner hashes every key with murmur2 in BigInt arithmetic.
 *
 * - `Writer.prototype.prependVarIntLength`, the last step of every record (`createRecord`), writes
 *   the length and the record's chunks into one Buffer: a batch of n records is n chunks. The same
 *   bytes.
 * - `murmur2Partitioner` gives the same partitions as `compatibilityPartitioner` (the Java
 *   client's), with src/log/partitioner.ts's 32-bit murmur2.
 *
 * test/log/kafka-writes.unit.test.ts holds both to the client's own.
 */
import { Writer } from "@platformatic/kafka";
import { checkPatchedVersions } from "./kafka-patched-version.ts";
import { murmur2 } from "./partitioner.ts";

type PrependVarIntLength = (this: Writer) => Writer;
const proto = Writer.prototype as unknown as { prependVarIntLength: PrependVarIntLength };

/** The client's own, as it was before `installFastWrites`. */
export const originalPrependVarIntLength: PrependVarIntLength = proto.prependVarIntLength;

/** Prepends the writer's length as a zig-zag varint, leaving the writer one chunk. */
function prependVarIntLength(this: Writer): Writer {
  const d = this.dynamicBuffer;
  const length = d.length;
  let z = ((length << 1) ^ (length >> 31)) >>> 0;
  let head = 1;
  for (let x = z >>> 7; x !== 0; x >>>= 7) head++;
  const out = Buffer.allocUnsafe(head + length);
  let p = 0;
  while (z > 0x7f) {
    out[p++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  out[p++] = z;
  for (const b of d.buffers) {
    out.set(b, p);
    p += b.length;
  }
  d.buffers = [out];
  d.length = out.length;
  return this;
}

let installed = false;

/** Puts the faster encoding on the client's Writer (idempotent); throws on a client version it was not written for. */
export function installFastWrites(): void {
  if (installed) return;
  checkPatchedVersions();
  installed = true;
  proto.prependVarIntLength = prependVarIntLength;
}

/**
 * The Java client's default partitioner (murmur2 of the key, sign bit cleared; the client takes
 * it modulo the partitions), as @platformatic/kafka's `compatibilityPartitioner`.
 */
export function murmur2Partitioner(_message: unknown, key: Buffer | undefined): number {
  return Buffer.isBuffer(key) ? murmur2(key) & 0x7fffffff : 0;
}
