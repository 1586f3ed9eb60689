/**
 * A batch as it crosses the thread boundary: everything but the topic names and the (rare)
 * headers in one ArrayBuffer, transferred, not copied. Posting a thousand message objects, one
 * Uint8Array each, costs far more than one buffer (docs/notes.md).
 *
 * Layout, for n messages: offset and timestamp (Float64, n each), partition (Int32), keyEnd and
 * valueEnd (Uint32; keyEnd in UTF-16 units of the keys joined), topic (Uint16: an index into
 * `topics`), then the values' bytes, then the keys joined, as UTF-8, at `keysAt`.
 *
 * @example
 * const packed = packBatch(batch);
 * port.postMessage(packed, { transfer: [packed.buf] });
 * const same = unpackBatch(packed);
 */
import type { Headers, LogMessage } from "../port.ts";
import { utf8 } from "../port.ts";

export interface PackedBatch {
  n: number;
  topics: string[];
  buf: ArrayBuffer;
  keysAt: number;
  keyBytes: number;
  /** [message index, headers] for the messages that have any. */
  headers: Array<[number, Headers]>;
}

/** Bytes of the per-message columns, per message. */
const COLUMN_BYTES = 30;

/** The per-message columns at the start of a packed batch's buffer (layout above). */
function columns(buf: ArrayBuffer, n: number) {
  return {
    offset: new Float64Array(buf, 0, n),
    timestamp: new Float64Array(buf, 8 * n, n),
    partition: new Int32Array(buf, 16 * n, n),
    keyEnd: new Uint32Array(buf, 20 * n, n),
    valueEnd: new Uint32Array(buf, 24 * n, n),
    topic: new Uint16Array(buf, 28 * n, n),
  };
}

export function packBatch(batch: readonly LogMessage[]): PackedBatch {
  const n = batch.length;
  const topics: string[] = [];
  const headers: Array<[number, Headers]> = [];
  let valueBytes = 0;
  let keyLength = 0;
  const keys: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const m = batch[i]!;
    valueBytes += m.value.byteLength;
    keyLength += m.key.length;
    keys[i] = m.key;
  }
  const valuesAt = COLUMN_BYTES * n;
  const keysAt = valuesAt + valueBytes;
  // At most 3 bytes of UTF-8 a UTF-16 unit.
  const buf = new ArrayBuffer(keysAt + 3 * keyLength);
  const { offset, timestamp, partition, keyEnd, valueEnd, topic } = columns(buf, n);
  const bytes = new Uint8Array(buf);
  let lastTopic = "";
  let lastIndex = -1;
  for (let i = 0, k = 0, v = 0; i < n; i++) {
    const m = batch[i]!;
    if (m.topic !== lastTopic) {
      lastTopic = m.topic;
      lastIndex = topics.indexOf(m.topic);
      if (lastIndex < 0) lastIndex = topics.push(m.topic) - 1;
    }
    topic[i] = lastIndex;
    partition[i] = m.partition;
    offset[i] = m.offset;
    timestamp[i] = m.timestamp;
    keyEnd[i] = k += m.key.length;
    bytes.set(m.value, valuesAt + v);
    valueEnd[i] = v += m.value.byteLength;
    for (const _ in m.headers) {
      headers.push([i, m.headers]);
      break;
    }
  }
  const written = utf8.encodeInto(keys.join(""), new Uint8Array(buf, keysAt));
  return { n, topics, buf, keysAt, keyBytes: written, headers };
}

export function unpackBatch(packed: PackedBatch): LogMessage[] {
  const { n, buf } = packed;
  const out: LogMessage[] = new Array(n);
  const headers = packed.headers.length > 0 ? new Map(packed.headers) : undefined;
  const { offset, timestamp, partition, keyEnd, valueEnd, topic } = columns(buf, n);
  const keys = utf8.decode(new Uint8Array(buf, packed.keysAt, packed.keyBytes));
  const valuesAt = COLUMN_BYTES * n;
  for (let i = 0, k = 0, v = 0; i < n; i++) {
    const ke = keyEnd[i]!;
    const ve = valueEnd[i]!;
    out[i] = {
      topic: packed.topics[topic[i]!]!,
      partition: partition[i]!,
      offset: offset[i]!,
      key: keys.slice(k, ke),
      value: new Uint8Array(buf, valuesAt + v, ve - v),
      headers: headers?.get(i) ?? {},
      timestamp: timestamp[i]!,
    };
    k = ke;
    v = ve;
  }
  return out;
}
