import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseReplay } from "../../src/market/replay.ts";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { slowTests } from "../support/timeout.ts";

// Two gateway processes, one after the other: more than bun test's default 5 s.
slowTests();

const dir = mkdtempSync(join(tmpdir(), "alpha-record-e2e-"));
const started: GatewayProcess[] = [];
afterAll(() => {
  for (const g of started) if (g.proc.exitCode === null) g.proc.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const ticksIn = (path: string) => [...parseReplay(readFileSync(path, "utf8"), path)];

test("RECORD_FILE holds every tick a gateway published (feed and POST /ticks), and FEED=replay of it publishes the same ticks", async () => {
  const recorded = join(dir, "session.jsonl");
  const gw = spawnGateway({ PORT: "0", FEED: "simulated", FEED_INTERVAL_MS: "20", RECORD_FILE: recorded });
  started.push(gw);
  const url = await gw.url(20_000);
  const key = String((await gw.waitFor((l) => typeof l.api_key === "string", 5_000)).api_key);

  // Ingested ticks, between the feed's: RELIANCE and TCS on their grids.
  const posted = [
    { instrument_token: 738561, last_price: "1290.45", volume: 12_345, bid: "1290.40", ask: "1290.50", exchange_ts: "2026-12-07T04:00:00Z" },
    { instrument_token: 2953217, last_price: "3500.10", last_quantity: 7 },
  ];
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${url}/api/v1/ticks`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ ticks: posted }) });
    expect(res.status).toBe(202);
    await Bun.sleep(150);
  }
  await gw.waitFor((l) => l.msg === "ticks published to market.ticks" && Number(l.published) > 0, 10_000);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(metrics).toMatch(/^alpha_panda_feed_ticks_recorded_total [1-9]\d*$/m);
  expect(metrics).toContain("alpha_panda_feed_ticks_record_failures_total 0");

  const { code } = await gw.interrupt();
  expect(code).toBe(0);
  const feedPublished = Number(gw.lines.find((l) => l.msg === "feed stopped")?.published);
  expect(feedPublished).toBeGreaterThan(100);
  const total = feedPublished + 3 * posted.length;
  expect(gw.lines.find((l) => l.msg === "ticks recorded")).toMatchObject({ recorded: total, failed: 0 });

  const ticks = ticksIn(recorded);
  expect(ticks.length).toBe(total);
  const api = ticks.filter((t) => t.feed === "api");
  expect(api.length).toBe(6);
  expect(api[0]).toMatchObject({ instrument_token: 738561, last_price: 129_045, volume: 12_345, bid: 129_040, ask: 129_050, exchange_ts: "2026-12-07T04:00:00.000Z" });
  expect(api[1]).toMatchObject({ instrument_token: 2953217, last_price: 350_010, last_quantity: 7 });
  expect(ticks.filter((t) => t.feed === "simulated").length).toBe(feedPublished);

  // Tonight: the recorded session as the feed, as fast as it goes, itself recorded to compare.
  const again = join(dir, "replayed.jsonl");
  const replay = spawnGateway({ PORT: "0", FEED: "replay", REPLAY_FILE: recorded, REPLAY_SPEED: "0", RECORD_FILE: again });
  started.push(replay);
  const done = await replay.waitFor((l) => l.msg === "replay finished", 30_000);
  expect(Number(done.published)).toBe(total);
  const replayUrl = await replay.url(5_000);
  expect(await (await fetch(`${replayUrl}/metrics`)).text()).toContain(`alpha_panda_feed_ticks_published_total{feed="replay"} ${total}`);
  expect((await replay.interrupt()).code).toBe(0);
  const replayed = ticksIn(again);
  expect(replayed.length).toBe(total);
  expect(replayed).toEqual(ticks);
  for (const i of [0, Math.floor(total / 2), total - 1]) expect(replayed[i]!.last_price).toBe(ticks[i]!.last_price);
});
