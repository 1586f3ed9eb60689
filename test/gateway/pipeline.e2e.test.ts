/**
 * GET /api/v1/pipeline on the embedded gateway: every stage listed and running, and a poison
 * message (an envelope its topic does not carry, left in the log's journal as an older version
 * might have) shows as the stage's dead letter and its DLQ's depth, the same count as /metrics.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEvent, encodeEnvelope } from "../../src/events/envelope.ts";
import { Journal, journalDir } from "../../src/log/journal.ts";
import { apiClient, until } from "../support/api-client.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";

const KEY = "ap_pipeline-e2e-key-000000000000000";
const RELIANCE = 738561;
const dataDir = mkdtempSync(join(tmpdir(), "pipeline-e2e-"));
const poison = createEvent({ type: "market.tick", source: "test", broker: "shared", key: String(RELIANCE), data: { instrument_token: RELIANCE, last_price: 245_000, exchange_ts: new Date().toISOString(), feed: "test" } });

let gw: GatewayProcess;
let api: ReturnType<typeof apiClient>;
beforeAll(async () => {
  const journal = Journal.open({ dir: journalDir(dataDir) });
  journal.message({ topic: "paper.signals.raw", partition: 0, offset: 0, key: String(RELIANCE), headers: {}, timestamp: Date.now(), value: new TextEncoder().encode(encodeEnvelope(poison)) });
  journal.flush();
  journal.close();
  gw = spawnGateway({ PORT: "0", FEED: "none", BOOTSTRAP_API_KEY: KEY, DATA_DIR: dataDir });
  api = apiClient(await gw.url(60_000), KEY);
}, 90_000);
afterAll(async () => {
  if (gw) expect((await gw.interrupt()).code).toBe(0);
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

test("every stage is listed and running; the poison is risk's dead letter and paper.signals.raw.dlq's depth", async () => {
  const view = await until("risk to dead-letter the poison", async () => {
    const r = await api.get("/api/v1/pipeline");
    const dlq = r.body.dlq?.find((d: { topic: string }) => d.topic === "paper.signals.raw.dlq");
    const risk = r.body.stages?.find((s: { name: string }) => s.name === "risk");
    // The workers report their counts when ready and every second, a batch's as it goes: the DLQ
    // may show it first, the dead letter before its send is counted (produced) or its offset
    // committed (the lag then 1 for a moment).
    const settled = r.body.stages?.every((s: { running: boolean; lag: number | null }) => s.running && s.lag === 0);
    return r.status === 200 && dlq?.depth === 1 && risk?.dead_letters === 1 && risk?.produced === 1 && settled ? r.body : undefined;
  }, 30_000, 200);
  expect(view.stages.map((s: { name: string }) => s.name)).toEqual(["strategy", "risk", "execution", "portfolio", "orders"]);
  const risk = view.stages.find((s: { name: string }) => s.name === "risk");
  expect(risk).toMatchObject({ running: true, restarts: 0, dead_letters: 1, produced: 1, lag: 0 });
  // Its inputs: signals.raw, market.ticks and orders.filled, 6 partitions each, all in this process.
  expect(risk.partitions).toBe(18);
  for (const s of view.stages) expect(s.lag).toBe(0);
  const others = view.dlq.filter((d: { topic: string }) => d.topic !== "paper.signals.raw.dlq");
  expect(others.length).toBeGreaterThan(10);
  for (const d of others) expect(d.depth).toBe(0);
  // No fill yet: no latency to show.
  expect(view.tick_to_fill_ms).toBeNull();
  // The same count as /metrics, from the same source.
  const metrics = await (await fetch(`${gw.lines.find((l) => l.msg === "gateway listening")!.url}/metrics`)).text();
  expect(metrics).toContain('alpha_panda_stage_dead_letters_total{stage="risk"} 1');
}, 60_000);

test("rates appear once the workers have reported twice", async () => {
  await until("a rate for every stage", async () => {
    const r = await api.get("/api/v1/pipeline");
    return r.body.stages.every((s: { rate_per_s: number | null }) => s.rate_per_s !== null) || undefined;
  }, 15_000, 500);
}, 30_000);
