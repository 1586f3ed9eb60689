/**
 * Kafka's default partitioner (murmur2 of the key bytes, sign bit cleared, modulo partitions), so a
 * key lands on the same partition number in the in-process log as on Kafka or Redpanda.
 *
 * @example
 * partitionFor("738561", 6); // the partition Kafka's Java client would pick
 */
export function partitionFor(key: string | Uint8Array, partitions: number): number {
  if (typeof key !== "string") return (murmur2(key) & 0x7fffffff) % partitions;
  let hash = hashes.get(key);
  if (hash === undefined) {
    if (hashes.size >= MAX_HASHES) hashes.clear();
    hashes.set(key, (hash = murmur2(encoder.encode(key)) & 0x7fffffff));
  }
  return hash % partitions;
}

const encoder = new TextEncoder();
/** Keys' hashes, remembered: a feed keys every tick by one of a few thousand instrument tokens. */
const hashes = new Map<string, number>();
const MAX_HASHES = 100_000;

/** murmur2 as in org.apache.kafka.common.utils.Utils.murmur2 (seed 0x9747b28c). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length & 3;
  const tail = length & ~3;
  if (rest === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}
