/**
 * KAFKA_PRODUCER_* on a real Kafka: every codec the setting offers writes batches our consumer
 * reads back byte for byte (through the patched reads, src/log/kafka-reads.ts), and a linger or a
 * small batch size changes how sends are grouped, never what arrives or in which order.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { compressionsAlgorithms } from "@platformatic/kafka";
import { COMPRESSIONS, type ProducerTuning } from "../../src/config-kafka.ts";
import { ConfigError } from "../../src/errors.ts";
import { KafkaLog } from "../../src/log/kafka.ts";
import { utf8, type LogMessage } from "../../src/log/port.ts";
import { infra, needs } from "../support/infra.ts";

setDefaultTimeout(60_000);

const brokers = infra.kafkaBrokers.split(",").map((b) => b.trim());
const kafkaUp = await needs("kafka");
const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

async function roundTrip(producer: Partial<ProducerTuning>, what: string): Promise<{ sent: string[]; got: LogMessage[] }> {
  const log = new KafkaLog({ brokers, clientId: `tuning-${what}`, producer });
  try {
    const topic = `tuning.${run}.${what}`;
    await log.createTopics([{ name: topic, partitions: 1, retentionMs: 3_600_000 }]);
    const p = log.producer();
    // Repetitive JSON, as our envelopes are: every codec shrinks it, so a wrong one shows.
    const sent = Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: i, type: "order.filled", data: { symbol: "SBIN", price: "850.50", note: "x".repeat(i % 50) } }));
    // Concurrent sends: with a linger or a small batch size they are grouped differently.
    await Promise.all(sent.map((value, i) => p.send([{ topic, key: `k${i % 7}`, value }])));
    const got: LogMessage[] = [];
    const c = log.consumer({ groupId: `tuning.${run}.${what}.g`, topics: [topic] });
    await c.run(async (batch) => void got.push(...batch));
    const end = Date.now() + 20_000;
    while (got.length < sent.length && Date.now() < end) await Bun.sleep(20);
    await c.close();
    return { sent, got };
  } finally {
    await log.close();
  }
}

// Skipped only without Kafka and without REQUIRE_INFRA=1: needs() then registers a failing test instead (test/support/infra.ts).
describe.skipIf(!kafkaUp)("KAFKA_PRODUCER_* on Kafka", () => {
  for (const compression of COMPRESSIONS) {
    test(`compression ${compression}: the codec is used, and what is sent is read back, in order`, async () => {
      // Counts the client's calls of the codec: a setting that never reached it would pass the round trip.
      const codec = (compressionsAlgorithms as unknown as Record<string, Record<string, unknown>>)[compression]!;
      const originals = { compress: codec.compress, compressSync: codec.compressSync };
      let calls = 0;
      for (const [name, fn] of Object.entries(originals)) {
        if (typeof fn === "function") codec[name] = (...args: unknown[]) => (calls++, (fn as (...a: unknown[]) => unknown).apply(codec, args));
      }
      try {
        const { sent, got } = await roundTrip({ compression }, compression);
        expect(got.map((m) => utf8.decode(m.value))).toEqual(sent);
        if (compression === "none") expect(calls).toBe(0);
        else expect(calls).toBeGreaterThan(0);
      } finally {
        Object.assign(codec, originals);
      }
    });
  }

  test("a linger and a one-message batch size keep every message and the order of the sends", async () => {
    const lingered = await roundTrip({ lingerMs: 20, compression: "lz4" }, "linger");
    expect(lingered.got.map((m) => utf8.decode(m.value))).toEqual(lingered.sent);
    const small = await roundTrip({ batchBytes: 1 }, "small");
    expect(small.got.map((m) => utf8.decode(m.value))).toEqual(small.sent);
  });

  test("a codec the client does not have stops the log's construction, naming the setting", () => {
    let err: unknown;
    try {
      new KafkaLog({ brokers, producer: { compression: "brotli" as never } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems[0]).toMatchObject({ path: "KAFKA_PRODUCER_COMPRESSION" });
  });
});
