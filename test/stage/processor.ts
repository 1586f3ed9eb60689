/**
 * The stream processor's delivery guarantees, run against the in-process log and real Kafka.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pino from "pino";
import { MemoryCache } from "../../src/cache/memory.ts";
import { childOf, createEvent, decodeEnvelope, encodeEnvelope, type Envelope } from "../../src/events/envelope.ts";
import { derivedId } from "../../src/events/ids.ts";
import { AlphaError } from "../../src/errors.ts";
import type { Log, LogMessage } from "../../src/log/port.ts";
import { StreamProcessor, type Handle } from "../../src/stage/processor.ts";
import { cacheDedup } from "../../src/stage/dedup.ts";
import { cacheDeadLetters, REPLAY_HEADER } from "../../src/stage/replay.ts";

const quiet = pino({ level: "silent" });
let n = 0;
const uniq = (s: string) => `proc.${Date.now().toString(36)}.${s}.${n++}`;

const tick = (token: number, price: number) =>
  createEvent({ type: "market.tick", source: "test", broker: "shared", key: String(token), data: { instrument_token: token, last_price: price, exchange_ts: new Date().toISOString(), feed: "test" } });

async function drain(log: Log, topic: string, count: number, ms = 20_000): Promise<LogMessage[]> {
  const got: LogMessage[] = [];
  const c = log.consumer({ groupId: uniq("reader"), topics: [topic] });
  await c.run(async (b) => void got.push(...b));
  const until = Date.now() + ms;
  while (got.length < count && Date.now() < until) await Bun.sleep(20);
  await Bun.sleep(300);
  await c.close();
  return got;
}

export function processorSuite(name: string, connect: () => Promise<Log>): void {
  describe(`stream processor: ${name}`, () => {
    let log: Log;
    beforeAll(async () => void (log = await connect()));
    afterAll(async () => await log?.close());

    async function setup(handleFor: (output: string) => Handle, opts: { attempts?: number; idempotentInput?: boolean; handlerTimeoutMs?: number } = {}) {
      const input = uniq("in");
      const output = uniq("out");
      await log.createTopics([
        { name: input, partitions: 2, retentionMs: 3_600_000 },
        { name: `${input}.dlq`, partitions: 1, retentionMs: 3_600_000 },
        { name: output, partitions: 2, retentionMs: 3_600_000 },
      ]);
      const producer = log.producer();
      const cache = new MemoryCache();
      const handle = handleFor(output);
      const { idempotentInput, ...rest } = opts;
      const make = () =>
        new StreamProcessor({
          stage: "test",
          groupId: `${input}.g`,
          topics: [input],
          log,
          producer,
          dedup: cacheDedup(cache, "test"),
          deadLetters: cacheDeadLetters(cache, "test", 3_600_000),
          handle,
          logger: quiet,
          backoffMs: 5,
          ...(idempotentInput ? { idempotentTopics: [input] } : {}),
          ...rest,
        });
      return { input, output, producer, make, cache };
    }

    const echo = (output: string): Handle => (e) => [
      { topic: output, event: { ...childOf(e as Envelope, { type: "market.tick", source: "echo", broker: "shared", key: e.key, data: e.data as Envelope<"market.tick">["data"] }), id: derivedId(e.id, "echo") } },
    ];

    test("outputs are produced, children carry the correlation id, and a duplicate input is handled once", async () => {
      const { input, output, producer, make } = await setup((output) => echo(output));
      const p = make();
      await p.start();
      const t = tick(738561, 129045);
      await producer.send([{ topic: input, key: t.key, value: encodeEnvelope(t) }]);
      await producer.send([{ topic: input, key: t.key, value: encodeEnvelope(t) }]); // redelivered
      await producer.send([{ topic: input, key: "2953217", value: encodeEnvelope(tick(2953217, 412005)) }]);
      const got = await drain(log, output, 2);
      await p.close();
      expect(got.length).toBe(2);
      const first = decodeEnvelope(got.find((m) => m.key === "738561")!.value);
      expect(first.correlation_id).toBe(t.correlation_id);
      expect(first.causation_id).toBe(t.id);
      expect(first.id).toBe(derivedId(t.id, "echo"));
      expect(p.stats.duplicates).toBe(1);
    });

    test("a dead letter replayed from its DLQ is handled again, once; a plain redelivery of it stays a duplicate", async () => {
      let broken = true;
      const { input, output, producer, make, cache } = await setup((output) => (e, m, l) => {
        if (broken) throw new AlphaError("PAYLOAD_INVALID", "a bug, fixed later");
        return echo(output)(e, m, l);
      });
      const p = make();
      await p.start();
      const t = tick(738561, 129045);
      const send = (headers: Record<string, string> = {}) => producer.send([{ topic: input, key: t.key, value: encodeEnvelope(t), headers }]);
      await send();
      expect((await drain(log, `${input}.dlq`, 1)).length).toBe(1);
      await send(); // redelivered: not dead-lettered twice
      const replayed = { [REPLAY_HEADER]: `${input}.dlq/0/0` };
      broken = false; // the fix is deployed
      await send(replayed);
      await send(replayed); // replayed twice
      const got = await drain(log, output, 1);
      await p.close();
      expect(got.map((m) => decodeEnvelope(m.value).id)).toEqual([derivedId(t.id, "echo")]);
      expect(p.stats.deadLettered).toBe(1);
      expect(p.stats.duplicates).toBe(2);
      expect(p.stats.handled).toBe(1);
      // Handled: no longer marked dead.
      expect(await cache.keys("dlq:test:")).toEqual([]);
    });

    test("an input declared idempotent is not deduplicated by id: no dedup keys, a redelivery is handled again", async () => {
      const { input, output, producer, make, cache } = await setup((output) => echo(output), { idempotentInput: true });
      const p = make();
      await p.start();
      const t = tick(738561, 129045);
      await producer.send([{ topic: input, key: t.key, value: encodeEnvelope(t) }]);
      await drain(log, output, 1);
      await producer.send([{ topic: input, key: t.key, value: encodeEnvelope(t) }]); // redelivered
      const got = await drain(log, output, 2);
      await p.close();
      // Handled twice, and the same derived id twice: the next stage's dedup drops the repeat.
      expect(got.map((m) => decodeEnvelope(m.value).id)).toEqual([derivedId(t.id, "echo"), derivedId(t.id, "echo")]);
      expect(p.stats.duplicates).toBe(0);
      expect(p.stats.handledByTopic).toEqual({ [input]: 2 });
      expect(await cache.keys("dedup:")).toEqual([]);
    });

    test("a poison message goes to the DLQ with its bytes, headers and the error, and the stage goes on", async () => {
      const { input, output, producer, make } = await setup((output) => (e, m, l) => {
        if ((e.data as { last_price: number }).last_price === 13) throw new AlphaError("PAYLOAD_INVALID", "unlucky price");
        return echo(output)(e, m, l);
      });
      const p = make();
      await p.start();
      const garbage = new Uint8Array([123, 0, 255, 34]);
      await producer.send([{ topic: input, key: "738561", value: garbage, headers: { origin: "feed-x" } }]);
      await producer.send([{ topic: input, key: "738561", value: encodeEnvelope(tick(738561, 13)) }]);
      await producer.send([{ topic: input, key: "738561", value: encodeEnvelope(tick(738561, 129050)) }]);
      const out = await drain(log, output, 1);
      const dlq = await drain(log, `${input}.dlq`, 2);
      await p.close();
      expect(out.length).toBe(1);
      expect(dlq.length).toBe(2);
      const [bad, unlucky] = dlq.sort((a, b) => Number(a.headers["x-dlq-source-offset"]) - Number(b.headers["x-dlq-source-offset"]));
      expect(Array.from(bad!.value)).toEqual(Array.from(garbage));
      expect(bad!.headers.origin).toBe("feed-x");
      expect(bad!.headers["x-dlq-error-code"]).toBe("ENVELOPE_INVALID");
      expect(bad!.headers["x-dlq-source-topic"]).toBe(input);
      expect(bad!.headers["x-dlq-stage"]).toBe("test");
      expect(unlucky!.headers["x-dlq-error"]).toBe("unlucky price");
      expect(unlucky!.headers["x-dlq-attempts"]).toBe("1");
      for (const v of Object.values(unlucky!.headers)) expect(typeof v).toBe("string");
      expect(p.stats.deadLettered).toBe(2);
    });

    test("a transient error is retried with backoff and then succeeds", async () => {
      let failures = 2;
      const { input, output, producer, make } = await setup((output) => (e, m, l) => {
        if (failures-- > 0) throw new AlphaError("CACHE_UNAVAILABLE", "redis blinked", { canRetry: true });
        return echo(output)(e, m, l);
      });
      const p = make();
      await p.start();
      await producer.send([{ topic: input, key: "1", value: encodeEnvelope(tick(1, 100)) }]);
      const out = await drain(log, output, 1);
      await p.close();
      expect(out.length).toBe(1);
      expect(failures).toBe(-1);
    });

    test("a transient error that outlasts the retries stops the stage uncommitted; a restart handles the message", async () => {
      let down = true;
      const { input, output, producer, make } = await setup(
        (output) => (e, m, l) => {
          if (down) throw new AlphaError("STORE_UNAVAILABLE", "database restarting", { canRetry: true });
          return echo(output)(e, m, l);
        },
        { attempts: 3 },
      );
      const first = make();
      await first.start();
      await producer.send([{ topic: input, key: "1", value: encodeEnvelope(tick(1, 100)) }]);
      const err = await first.done.then(() => undefined, (e: unknown) => e);
      expect((err as AlphaError).message).toContain("still failing after 3 attempts");
      await first.close();
      down = false;
      const second = make();
      await second.start();
      const out = await drain(log, output, 1);
      await second.close();
      expect(out.length).toBe(1);
    });

    test("a batch still in hand after handlerTimeoutMs fails uncommitted; the next member of the group takes it over at once and handles each message once", async () => {
      let hang = true;
      const { input, output, producer, make } = await setup(
        (output) => async (e, m, l) => {
          // A store call that never answers, until the stage has been restarted.
          if (hang && (e.data as { last_price: number }).last_price === 13) await new Promise(() => {});
          return echo(output)(e, m, l);
        },
        { handlerTimeoutMs: 500 },
      );
      const first = make();
      await first.start();
      const inputs = [tick(1, 100), tick(1, 13), tick(1, 101)];
      await producer.send([{ topic: input, key: "1", value: encodeEnvelope(inputs[0]!) }]);
      await Bun.sleep(300);
      await producer.send(inputs.slice(1).map((e) => ({ topic: input, key: "1", value: encodeEnvelope(e) })));
      const err = await first.done.then(() => undefined, (e: unknown) => e);
      expect((err as AlphaError).code).toBe("TIMEOUT");
      expect((err as AlphaError).canRetry).toBe(true);
      // The failed member left the group as it stopped: the restarted one does not wait for its session to expire.
      hang = false;
      const restartedAt = Date.now();
      const second = make();
      await second.start();
      const got = await drain(log, output, 3);
      const resumedMs = Date.now() - restartedAt;
      await second.close();
      await first.close();
      expect(got.map((m) => decodeEnvelope(m.value).id).sort()).toEqual(inputs.map((e) => derivedId(e.id, "echo")).sort());
      expect(resumedMs).toBeLessThan(5_000);
    });
  });
}
