/**
 * `bun run dlq` against real Kafka and Redis: an event a stage's processor dead-letters (its
 * handler failed on it) is listed with the DLQ's depth, shown with its reason and origin, and
 * replayed once the fix is in: handled once downstream, and a second replay changes nothing
 * (the stage's dedup, with its dead-letter marks in Redis as in distributed mode). The processor
 * runs on topics of its own: the pipeline's topics on the shared Kafka are other tests' too.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pino from "pino";
import { openCache } from "../../src/cache/index.ts";
import type { Cache } from "../../src/cache/port.ts";
import { childOf, createEvent, decodeEnvelope, encodeEnvelope, type Envelope } from "../../src/events/envelope.ts";
import { derivedId } from "../../src/events/ids.ts";
import { AlphaError } from "../../src/errors.ts";
import { KafkaLog } from "../../src/log/kafka.ts";
import { cacheDedup } from "../../src/stage/dedup.ts";
import { StreamProcessor } from "../../src/stage/processor.ts";
import { cacheDeadLetters } from "../../src/stage/replay.ts";
import { readDeadLetters } from "../../scripts/lib/dead-letters.ts";
import { until } from "../support/api-client.ts";
import { infra, needs } from "../support/infra.ts";
import { slowTests } from "../support/timeout.ts";

slowTests();

const root = new URL("../..", import.meta.url).pathname;
const run = `dlqtool.${Date.now().toString(36)}`;
const input = `${run}.in`;
const dlq = `${input}.dlq`;
const output = `${run}.out`;

/** Runs the DLQ tool as a user does; its exit code, stdout and stderr. */
async function dlqTool(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, "scripts/dlq.ts", ...args], { cwd: root, env: { ...process.env, KAFKA_BROKERS: infra.kafkaBrokers }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

if (await needs("kafka") && (await needs("redis"))) {
  describe("bun run dlq", () => {
    let log: KafkaLog;
    let cache: Cache;
    let processor: StreamProcessor;
    let broken = true;
    const held = async (topic: string) => ((await log.offsetRanges([topic])).get(topic) ?? []).reduce((n, r) => n + r.end - r.start, 0);
    const tick = createEvent({ type: "market.tick", source: "test", broker: "shared", key: "738561", data: { instrument_token: 738561, last_price: 245_000, exchange_ts: new Date().toISOString(), feed: "test" } });

    beforeAll(async () => {
      log = new KafkaLog({ brokers: infra.kafkaBrokers.split(",") });
      cache = openCache({ redisUrl: infra.redisUrl });
      await log.createTopics([
        { name: input, partitions: 3, retentionMs: 3_600_000 },
        { name: dlq, partitions: 1, retentionMs: 3_600_000 },
        { name: output, partitions: 3, retentionMs: 3_600_000 },
      ]);
      processor = new StreamProcessor({
        stage: run,
        groupId: `${run}.g`,
        topics: [input],
        log,
        producer: log.producer(),
        dedup: cacheDedup(cache, run),
        deadLetters: cacheDeadLetters(cache, run, 3_600_000),
        logger: pino({ level: "silent" }),
        handle: (e) => {
          if (broken) throw new AlphaError("PAYLOAD_INVALID", "cannot price 738561: no reference price");
          const echo = childOf(e as Envelope, { type: "market.tick", source: "echo", broker: "shared", key: e.key, data: (e as Envelope<"market.tick">).data });
          return [{ topic: output, event: { ...echo, id: derivedId(e.id, "echo") } }];
        },
      });
      await processor.start();
      const producer = log.producer();
      await producer.send([{ topic: input, key: tick.key, value: encodeEnvelope(tick), headers: { origin: "test" } }]);
      await producer.close();
      await until("the event to be dead-lettered", async () => processor.stats.deadLettered === 1 || undefined, 30_000, 100);
    }, 60_000);

    afterAll(async () => {
      await processor?.close();
      await log?.close();
      await cache?.close();
    });

    test("list: the DLQ with its depth", async () => {
      const r = await dlqTool("list");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^${dlq.replaceAll(".", "\\.")}\\s+1$`, "m"));
    });

    test("show: the reason, the stage, where it came from and the event (the topic named without .dlq too)", async () => {
      const r = await dlqTool("show", input);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`by ${run} after 1 attempt`);
      expect(r.stdout).toContain("reason: [PAYLOAD_INVALID] cannot price 738561: no reference price");
      expect(r.stdout).toMatch(new RegExp(`from:   ${input.replaceAll(".", "\\.")} partition \\d offset 0`));
      expect(r.stdout).toContain(`event:  market.tick ${tick.id}  key 738561`);
      expect(r.stdout).toContain(`"last_price": 245000`);
    });

    test("replay after the fix: written back once, handled once; a second replay changes nothing downstream", async () => {
      broken = false;
      const first = await dlqTool("replay", dlq);
      expect(first.code).toBe(0);
      expect(first.stderr).toContain(`replaying [${"#".repeat(30)}] 1/1`);
      expect(first.stdout).toContain(`replayed 1 dead letter of ${dlq} to ${input}`);
      expect(await held(input)).toBe(2);
      await until("the replayed event to be handled", async () => processor.stats.handled === 1 || undefined, 30_000, 100);
      expect(await held(output)).toBe(1);

      const second = await dlqTool("replay", dlq, "--ids", tick.id);
      expect(second.code).toBe(0);
      expect(await held(input)).toBe(3);
      await until("the second copy to be skipped", async () => processor.stats.duplicates === 1 || undefined, 30_000, 100);
      expect(processor.stats.handled).toBe(1);
      expect(await held(output)).toBe(1);
      // The DLQ keeps what it holds; the copy did not fail again.
      expect(await held(dlq)).toBe(1);
      expect(processor.stats.deadLettered).toBe(1);
      // What reached the output is the fixed handler's answer to the original event.
      const [echoed] = await readDeadLetters(log, infra.kafkaBrokers.split(","), output);
      expect(decodeEnvelope(echoed!.message.value).id).toBe(derivedId(tick.id, "echo"));
    }, 90_000);

    test("replay --ids naming a letter the DLQ does not hold writes nothing; bad arguments are named", async () => {
      const r = await dlqTool("replay", dlq, "--ids", "no-such-id");
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${dlq} holds no dead letter no-such-id; nothing replayed`);
      expect(await held(input)).toBe(3);
      const bad = await dlqTool("show", dlq, "--limit", "zero");
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--limit takes a whole number from 1, got "zero"');
    });
  });
}
