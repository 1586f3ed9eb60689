/**
 * Faster record decoding for @platformatic/kafka, over @platformatic/dynamic-buffer (the versions
 * in src/log/kafka-patched-version.ts, checked before installing): the client's reads walk its
 * chunk list from the start on every varint and build 64-bit varints in BigInt, which made record
 * decoding the largest cost of consuming ticks. Installed by `new KafkaLog()`.
 *
 * The per-record reads of the client's `Reader` (`readVarInt`, `readUnsignedVarInt`,
 * `readVarInt64`, `readInt8`, `readVarIntBytes`) are replaced with ones that read straight from one
 * contiguous Buffer: a reader over several chunks first copies them into one (once per response,
 * into that reader only; the connection's own buffer is not touched), and a 64-bit varint of up to
 * 7 bytes (49 bits, exact in a double) is decoded as a number and made a BigInt once (longer ones
 * take the original path). Same values, same positions, the same `OutOfBoundsError` past the end
 * (and for a negative length or a varint cut off, where the original returned an empty Buffer or a
 * wrong number); keys and values are still views, not copies. test/log/kafka-reads.unit.test.ts
 * holds the reads to the originals'.
 */
import { DynamicBuffer, EMPTY_BUFFER, OutOfBoundsError } from "@platformatic/dynamic-buffer";
import { Reader } from "@platformatic/kafka";
import { checkPatchedVersions } from "./kafka-patched-version.ts";

type Read = (this: Reader) => unknown;
interface Reads {
  readUnsignedVarInt: Read;
  readVarInt: Read;
  readVarInt64: Read;
  readInt8: Read;
  readVarIntBytes: Read;
}

const proto = Reader.prototype as unknown as Reads;
/** The client's own reads, as they were before `installFastReads`. */
export const originalReads: Readonly<Reads> = {
  readUnsignedVarInt: proto.readUnsignedVarInt,
  readVarInt: proto.readVarInt,
  readVarInt64: proto.readVarInt64,
  readInt8: proto.readInt8,
  readVarIntBytes: proto.readVarIntBytes,
};

/** The reader's bytes as one Buffer: a reader over several chunks is given one copy of them. */
function contiguous(r: Reader): Buffer {
  const d = r.buffer;
  if (d.buffers.length === 1) return d.buffers[0]!;
  if (d.buffers.length === 0) return EMPTY_BUFFER;
  r.buffer = new DynamicBuffer(Buffer.concat(d.buffers, d.length));
  return r.buffer.buffers[0]!;
}

/** An unsigned 32-bit varint at the reader's position, with the original's arithmetic. */
function unsignedVarInt(r: Reader, b: Buffer): number {
  let pos = r.position;
  if (pos < 0 || pos >= b.length) throw new OutOfBoundsError("Out of bounds.");
  let value = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = b[pos++]!;
    value += (byte & 0x7f) << shift;
    shift += 7;
  } while (byte >= 0x80);
  if (pos > b.length) throw new OutOfBoundsError("Out of bounds."); // cut off mid-varint
  r.position = pos;
  return value;
}

const fastReads: Reads = {
  readUnsignedVarInt(this: Reader) {
    return unsignedVarInt(this, contiguous(this));
  },
  readVarInt(this: Reader) {
    const v = unsignedVarInt(this, contiguous(this));
    return (v >> 1) ^ -(v & 1);
  },
  readVarInt64(this: Reader) {
    const b = contiguous(this);
    let pos = this.position;
    if (pos < 0 || pos >= b.length) throw new OutOfBoundsError("Out of bounds.");
    let u = 0;
    let scale = 1;
    let byte: number;
    let n = 0;
    do {
      byte = b[pos++]!;
      u += (byte & 0x7f) * scale;
      scale *= 128;
      n++;
    } while (byte >= 0x80 && n < 7);
    if (pos > b.length) throw new OutOfBoundsError("Out of bounds."); // cut off mid-varint
    if (byte >= 0x80) return originalReads.readVarInt64.call(this); // more than 49 bits
    this.position = pos;
    // Zigzag: 0, -1, 1, -2, … as the BigInt original computes it.
    return BigInt(u % 2 === 0 ? u / 2 : -(u + 1) / 2);
  },
  readInt8(this: Reader) {
    const b = contiguous(this);
    const pos = this.position;
    if (pos < 0 || pos >= b.length) throw new OutOfBoundsError("Out of bounds.");
    this.position = pos + 1;
    return b.readInt8(pos);
  },
  readVarIntBytes(this: Reader) {
    const length = this.readVarInt();
    if (length === -1) return null;
    const b = contiguous(this);
    const start = this.position;
    if (length < 0 || start + length > b.length) throw new OutOfBoundsError("Out of bounds.");
    this.position = start + length;
    return length === 0 ? EMPTY_BUFFER : b.subarray(start, start + length);
  },
};

/** Puts the faster reads on the client's Reader (idempotent); throws on a client version it was not written for. */
export function installFastReads(): void {
  checkPatchedVersions();
  Object.assign(proto, fastReads);
}
