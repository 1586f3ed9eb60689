/**
 * A stage handler that hangs (a store or cache call that never answers) past
 * STAGE_HANDLER_TIMEOUT_MS is a transient failure: the batch fails uncommitted, the processor is
 * fenced (the hung work, should it resume, sends, saves and marks nothing), the supervisor restarts
 * the worker, and the new one goes on from the last commit: every message handled once in effect.
 * In-process log.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Supervisor } from "../../gateway/supervisor.ts";
import { MemoryCache } from "../../src/cache/memory.ts";
import { AlphaError } from "../../src/errors.ts";
import { childOf, createEvent, decodeEnvelope, encodeEnvelope, type Envelope } from "../../src/events/envelope.ts";
import { derivedId } from "../../src/events/ids.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import type { Log, LogMessage, OutgoingMessage, Producer } from "../../src/log/port.ts";
import { StreamProcessor } from "../../src/stage/processor.ts";
import type { Dedup } from "../../src/stage/dedup.ts";

const quiet = pino({ level: "silent" });

const tick = (token: number, price: number) =>
  createEvent({ type: "market.tick", source: "test", broker: "shared", key: String(token), data: { instrument_token: token, last_price: price, exchange_ts: new Date().toISOString(), feed: "test" } });

async function drain(log: Log, topic: string, count: number, ms = 10_000): Promise<LogMessage[]> {
  const got: LogMessage[] = [];
  const c = log.consumer({ groupId: `reader.${topic}.${Date.now()}`, topics: [topic] });
  await c.run(async (b) => void got.push(...b));
  const until = Date.now() + ms;
  while (got.length < count && Date.now() < until) await Bun.sleep(20);
  await Bun.sleep(200);
  await c.close();
  return got;
}

test("a batch still in hand after handlerTimeoutMs fails as a transient failure, and the hung work can send, save or mark nothing after it", async () => {
  const sent: OutgoingMessage[] = [];
  const producer = { send: async (m: OutgoingMessage[]) => void sent.push(...m), close: async () => {} } as unknown as Producer;
  const marked: string[] = [];
  const dedup: Dedup = { seen: async (ids) => ids.map(() => false), mark: async (ids) => void marked.push(...ids) };
  let saved = 0;
  let release!: () => void;
  const log = new MemoryLog(new MemoryBroker());
  await log.createTopics([{ name: "t.in", partitions: 1, retentionMs: -1 }]);
  const p = new StreamProcessor({
    stage: "slow",
    groupId: "slow",
    topics: ["t.in"],
    log,
    producer,
    dedup,
    logger: quiet,
    handlerTimeoutMs: 150,
    afterSend: () => void saved++,
    handle: async (e) => {
      // The store call hangs until the test lets it go, long after the deadline.
      if ((e as Envelope<"market.tick">).data.last_price === 13) await new Promise<void>((r) => (release = r));
      return [{ topic: "t.out", event: { ...childOf(e, { type: "market.tick", source: "slow", broker: "shared", key: e.key, data: (e as Envelope<"market.tick">).data }), id: derivedId(e.id, "slow") } }];
    },
  });
  await log.producer().send([1, 13, 2].map((price) => ({ topic: "t.in", key: "1", value: encodeEnvelope(tick(1, price)) })));
  await p.start();
  const err = await p.done.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AlphaError);
  expect((err as AlphaError).code).toBe("TIMEOUT");
  expect((err as AlphaError).canRetry).toBe(true);
  expect((err as AlphaError).message).toContain("STAGE_HANDLER_TIMEOUT_MS");
  // The store answers at last: the old batch goes no further.
  release();
  await Bun.sleep(100);
  expect(sent).toEqual([]);
  expect(saved).toBe(0);
  expect(marked).toEqual([]);
  await p.close();
});

test("a hung handler: the worker is restarted, the stage goes on from its last commit, and every message is handled once in effect", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hang-"));
  const broker = new MemoryBroker();
  const log = new MemoryLog(broker);
  await log.createTopics([
    { name: "hang.in", partitions: 2, retentionMs: -1 },
    { name: "hang.in.dlq", partitions: 1, retentionMs: -1 },
    { name: "hang.out", partitions: 2, retentionMs: -1 },
  ]);
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const sup = new Supervisor({
    stages: ["risk"],
    env: { STAGE_HANDLER_TIMEOUT_MS: "300", HANG_MARKER: join(dir, "hung") },
    memoryLog: log,
    memoryCache: new MemoryCache(),
    logger,
    restartMaxMs: 400,
    entry: () => new URL("./fixtures/hanging-stage-worker.ts", import.meta.url).href,
  });
  sup.start();
  const producer = log.producer();
  const inputs = Array.from({ length: 40 }, (_, i) => tick(100 + (i % 4), i === 25 ? 13 : 1_000 + i));
  // Some before the hang, the one that hangs, and more while the worker is hung and restarting.
  for (const e of inputs.slice(0, 20)) await producer.send([{ topic: "hang.in", key: e.key, value: encodeEnvelope(e) }]);
  await Bun.sleep(300);
  for (const e of inputs.slice(20)) await producer.send([{ topic: "hang.in", key: e.key, value: encodeEnvelope(e) }]);
  const out = await drain(log, "hang.out", inputs.length);
  const status = sup.statuses()[0]!;
  await sup.stop(2_000);
  rmSync(dir, { recursive: true, force: true });

  expect(status.restarts).toBe(1);
  expect(status.lastError).toContain("STAGE_HANDLER_TIMEOUT_MS");
  expect(status.state).toBe("running");
  // Each input's output once: the hung batch sent nothing, and was handled whole after the restart.
  const ids = out.map((m) => decodeEnvelope(m.value).id).sort();
  expect(ids).toEqual(inputs.map((e) => derivedId(e.id, "hanging")).sort());
  expect(await drain(log, "hang.in.dlq", 0, 200)).toEqual([]);
  expect(lines.filter((l) => l.msg === "stage worker crashed; restarting")).toHaveLength(1);
});
