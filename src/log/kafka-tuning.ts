/**
 * How our producers send (src/config-kafka.ts's KAFKA_PRODUCER_* settings), checked when a Kafka
 * log is made: a codec this runtime cannot write stops the start, naming the setting, instead of
 * failing every send later.
 */
import { compressionsAlgorithms } from "@platformatic/kafka";
import { COMPRESSIONS, DEFAULT_PRODUCER_TUNING, type ProducerTuning } from "../config-kafka.ts";
import type { Problem } from "../errors.ts";

const SAMPLE = Buffer.from('{"probe":"alpha-panda alpha-panda alpha-panda"}');

/**
 * Whether the client can compress and read back with `codec` here (snappy and lz4 need
 * @platformatic/wasm-utils, zstd a runtime whose node:zlib has it); the reason when it cannot.
 */
export function codecProblem(codec: string): string | undefined {
  if (!(COMPRESSIONS as readonly string[]).includes(codec)) return `must be one of ${COMPRESSIONS.join(", ")}, got ${JSON.stringify(codec)}`;
  if (codec === "none") return undefined;
  const algorithm = (compressionsAlgorithms as Record<string, { available?: boolean; compressSync(b: Buffer): Buffer; decompressSync(b: Buffer): Buffer }>)[codec];
  try {
    if (!algorithm || algorithm.available === false) throw new Error("the Kafka client has no codec for it in this runtime");
    const back = Buffer.from(algorithm.decompressSync(Buffer.from(algorithm.compressSync(SAMPLE))));
    if (!back.equals(SAMPLE)) throw new Error("a compressed sample did not read back the same");
  } catch (err) {
    return `${codec} cannot be used here (${(err as Error).message}): choose ${COMPRESSIONS.filter((c) => c !== codec).join(", ")}`;
  }
  return undefined;
}

/** The tuning with defaults filled in, and its problems (paths are the settings' names). */
export function producerTuning(given: Partial<ProducerTuning> = {}): { tuning: ProducerTuning; problems: Problem[] } {
  const tuning = { ...DEFAULT_PRODUCER_TUNING, ...given };
  const problems: Problem[] = [];
  const codec = codecProblem(tuning.compression);
  if (codec) problems.push({ path: "KAFKA_PRODUCER_COMPRESSION", message: codec });
  const ints: Array<[string, number, number]> = [
    ["KAFKA_PRODUCER_BATCH_SIZE", tuning.batchBytes, 1],
    ["KAFKA_PRODUCER_LINGER_MS", tuning.lingerMs, 0],
    ["KAFKA_PRODUCER_RETRIES", tuning.retries, 0],
    ["KAFKA_PRODUCER_REQUEST_TIMEOUT_MS", tuning.requestTimeoutMs, 1],
  ];
  for (const [path, v, min] of ints) if (!Number.isSafeInteger(v) || v < min) problems.push({ path, message: `must be an integer ≥ ${min}, got ${v}` });
  return { tuning, problems };
}
