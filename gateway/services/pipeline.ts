/**
 * The pipeline's health for GET /api/v1/pipeline: each stage's worker (running, restarts,
 * partitions, events handled and produced, dead letters), its rate over the last seconds, its lag
 * (what its consumer group has committed against the log's end offsets), tick → fill latency (the
 * portfolio stage's numbers, as /metrics shows them) and each DLQ's depth. The log's answers are
 * bounded: when it does not answer, lag and depths are null and the rest is still shown.
 */
import type { Broker } from "../../src/config.ts";
import { within } from "../../src/errors.ts";
import type { Log } from "../../src/log/port.ts";
import type { LatencyStats } from "../../src/stage/latency.ts";
import type { StageStats } from "../../src/stage/protocol.ts";
import { stageGroupId } from "../../src/stage/groups.ts";
import { STAGES } from "../../src/stage/stages.ts";
import { allTopics } from "../../src/topics.ts";
import type { PipelineView, StageHealth } from "../api/services.ts";
import type { WorkerStatus } from "../supervisor.ts";

/** How far back a stage's rate looks. */
export const RATE_WINDOW_MS = 5_000;
/** The longest the log may take to say where groups and DLQs are. */
export const LOG_ANSWER_MS = 2_000;
/** How long an answer of the log is reused. */
export const LOG_VIEW_MS = 1_000;

/**
 * Tick → fill latency of the stages that measure it (the portfolio stage): the one source of the
 * numbers /metrics and /api/v1/pipeline show.
 */
export const tickToFill = (workers: readonly WorkerStatus[]): LatencyStats[] => workers.flatMap((w) => (w.stats?.tickToFill ? [w.stats.tickToFill] : []));

interface Sample {
  at: number;
  handled: number;
}

/** The stages as the pipeline lists them: each worker's stage, then its companions. */
function stagesOf(workers: readonly WorkerStatus[], group: (base: string) => string): Array<{ name: string; groupId: string; worker: WorkerStatus; stats?: StageStats }> {
  return workers.flatMap((w) => {
    const def = STAGES[w.stage];
    // A companion that runs only with some settings is listed once its worker reports it running.
    const companions = Object.entries(def.companions ?? {})
      .filter(([name, c]) => c.enabled === undefined || w.stats?.companions?.[name] !== undefined)
      .map(([name, c]) => ({ name, groupId: group(c.groupId), worker: w, stats: w.stats?.companions?.[name] }));
    return [{ name: w.stage as string, groupId: group(def.groupId), worker: w, stats: w.stats }, ...companions];
  });
}

/** The log's answer, or undefined when it fails or is late: the rest of the view is still shown. */
const answer = <T>(p: Promise<T>, ms: number): Promise<T | undefined> => within(p.catch(() => undefined), ms);

/**
 * @example
 * const pipeline = pipelineService({ log, workers: () => supervisor.statuses(), activeBrokers });
 * await pipeline.status(); // { stages: [...], tick_to_fill_ms, dlq: [...] }
 * pipeline.close();
 */
export function pipelineService(deps: { log: Log; workers: () => WorkerStatus[]; activeBrokers: readonly Broker[]; clock?: () => number }) {
  const clock = deps.clock ?? Date.now;
  const dlqTopics = allTopics(deps.activeBrokers).map((t) => t.dlq.name);
  const group = (base: string) => stageGroupId(base, deps.activeBrokers, deps.log.kind === "kafka");
  // Per stage, its handled count over the last seconds (a worker that restarts counts from 0).
  const samples = new Map<string, Sample[]>();

  function sample(): void {
    const now = clock();
    for (const s of stagesOf(deps.workers(), group)) {
      const ring = samples.get(s.name) ?? [];
      ring.push({ at: s.stats?.at ?? now, handled: s.stats?.handled ?? 0 });
      while (ring.length > 2 && ring[1]!.at <= now - RATE_WINDOW_MS) ring.shift();
      samples.set(s.name, ring);
    }
  }
  const timer = setInterval(sample, 1_000);
  timer.unref?.();

  function rate(name: string): number | null {
    const ring = samples.get(name) ?? [];
    const first = ring[0];
    const last = ring.at(-1);
    if (!first || !last || last.at <= first.at || last.handled < first.handled) return null;
    return Math.round(((last.handled - first.handled) * 1000) / (last.at - first.at));
  }

  /** Per group, messages it has yet to read on the partitions it has committed on; null when the log cannot say. */
  async function lags(groupIds: readonly string[]): Promise<Array<number | null>> {
    const { committedOffsets, offsetRanges } = deps.log;
    if (!committedOffsets || !offsetRanges) return groupIds.map(() => null);
    const committed = await Promise.all(groupIds.map((g) => answer(committedOffsets.call(deps.log, g), LOG_ANSWER_MS)));
    // One read of the end offsets for every group's topics.
    const topics = [...new Set(committed.flatMap((c) => c?.map((o) => o.topic) ?? []))];
    const ranges = topics.length === 0 ? new Map() : await answer(offsetRanges.call(deps.log, topics), LOG_ANSWER_MS);
    return committed.map((c) => (c && ranges ? c.reduce((lag, o) => lag + Math.max(0, (ranges.get(o.topic)?.[o.partition]?.end ?? o.next) - o.next), 0) : null));
  }

  async function dlqDepths(): Promise<PipelineView["dlq"]> {
    const ranges = deps.log.offsetRanges ? await answer(deps.log.offsetRanges(dlqTopics), LOG_ANSWER_MS) : undefined;
    return dlqTopics.map((topic) => {
      const parts = ranges?.get(topic);
      return { topic, depth: parts ? parts.reduce((n, r) => n + (r.end - r.start), 0) : null };
    });
  }

  // The log's part is asked at most once a LOG_VIEW_MS, however many desks poll.
  let logView: { at: number; groups: string; answer: Promise<[Array<number | null>, PipelineView["dlq"]]> } | undefined;
  function fromLog(groupIds: readonly string[]): Promise<[Array<number | null>, PipelineView["dlq"]]> {
    const now = clock();
    const groups = groupIds.join(",");
    if (!logView || logView.groups !== groups || now - logView.at >= LOG_VIEW_MS) logView = { at: now, groups, answer: Promise.all([lags(groupIds), dlqDepths()]) };
    return logView.answer;
  }

  return {
    async status(): Promise<PipelineView> {
      sample();
      const workers = deps.workers();
      const listed = stagesOf(workers, group);
      const [lagOf, dlq] = await fromLog(listed.map((s) => s.groupId));
      const stages: StageHealth[] = listed.map((s, i) => ({
        name: s.name,
        state: s.worker.state,
        running: s.worker.state === "running",
        restarts: s.worker.restarts,
        partitions: s.stats?.partitions ?? 0,
        handled: s.stats?.handled ?? 0,
        produced: s.stats?.produced ?? 0,
        rate_per_s: rate(s.name),
        lag: lagOf[i] ?? null,
        dead_letters: s.stats?.deadLettered ?? 0,
      }));
      const [latency] = tickToFill(workers);
      return { stages, tick_to_fill_ms: latency ? { p50: latency.p50, p99: latency.p99, count: latency.count } : null, dlq };
    },
    close(): void {
      clearInterval(timer);
    },
  };
}
