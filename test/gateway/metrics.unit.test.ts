import { expect, test } from "bun:test";
import { createApp } from "../../gateway/app.ts";
import type { WorkerStatus } from "../../gateway/supervisor.ts";
import { MemoryCache } from "../../src/cache/memory.ts";
import { MemoryLog } from "../../src/log/memory.ts";
import type { Store } from "../../src/store/index.ts";

test("/metrics exports the portfolio's tick → fill latency and each stage's hop as Prometheus summaries, and the ticks each stage conflated", async () => {
  const stats = { handled: 10, duplicates: 0, deadLettered: 0, produced: 0, partitions: 6 };
  const workers: WorkerStatus[] = [
    { stage: "strategy", state: "running", restarts: 0, stats },
    { stage: "risk", state: "running", restarts: 0, stats: { ...stats, inbound: { count: 9, sum_ms: 20.25, window_s: 10, window_count: 3, p50: 2, p95: 2.5, p99: 3.125, max: 3.5 } } },
    { stage: "portfolio", state: "running", restarts: 0, stats: { ...stats, conflated: 4, tickToFill: { count: 42, sum_ms: 123.5, window_s: 10, window_count: 7, p50: 1.5, p95: 3.25, p99: 4, max: 4.75 } } },
  ];
  const app = createApp({ mode: "embedded", log: new MemoryLog(), store: {} as Store, cache: new MemoryCache(), workers: () => workers, feed: () => ({ kind: "none", published: 0, running: false }), startedAt: Date.now() });
  const text = await (await app.request("/metrics")).text();
  expect(text).toContain("# TYPE alpha_panda_tick_to_fill_ms summary");
  for (const line of ['alpha_panda_tick_to_fill_ms{quantile="0.5"} 1.5', 'alpha_panda_tick_to_fill_ms{quantile="0.99"} 4', 'alpha_panda_tick_to_fill_ms{quantile="1"} 4.75', "alpha_panda_tick_to_fill_ms_sum 123.5", "alpha_panda_tick_to_fill_ms_count 42"]) {
    expect(text).toContain(line);
  }
  expect(text).toContain("# TYPE alpha_panda_stage_inbound_ms summary");
  for (const line of ['alpha_panda_stage_inbound_ms{stage="risk",quantile="0.5"} 2', 'alpha_panda_stage_inbound_ms{stage="risk",quantile="0.99"} 3.125', 'alpha_panda_stage_inbound_ms_sum{stage="risk"} 20.25', 'alpha_panda_stage_inbound_ms_count{stage="risk"} 9']) {
    expect(text).toContain(line);
  }
  // Only the stages that recorded a hop have one.
  expect(text).not.toContain('alpha_panda_stage_inbound_ms{stage="strategy"');
  expect(text).toContain('alpha_panda_stage_events_conflated_total{stage="strategy"} 0');
  expect(text).toContain('alpha_panda_stage_events_conflated_total{stage="portfolio"} 4');
  // No stage has recorded any: no summary at all.
  const none = createApp({ mode: "embedded", log: new MemoryLog(), store: {} as Store, cache: new MemoryCache(), workers: () => [workers[0]!], feed: () => ({ kind: "none", published: 0, running: false }), startedAt: Date.now() });
  const bare = await (await none.request("/metrics")).text();
  expect(bare).not.toContain("tick_to_fill");
  expect(bare).not.toContain("inbound_ms");
});
