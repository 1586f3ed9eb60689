/**
 * Runs one Bun Worker per pipeline stage and keeps it running: a worker that crashes, exits or
 * reports a failure is restarted with exponential backoff (100 ms doubling up to a cap), and
 * every restart is logged. A worker whose handler hung past STAGE_HANDLER_TIMEOUT_MS reports a
 * failure itself (src/stage/processor.ts); one stuck on its thread (a loop that never yields) says
 * nothing at all, and is restarted once it has been silent for longer than that (it posts its
 * stats every second). The old worker is terminated and gone, and its ports closed, before the
 * new one starts, so nothing it still held in hand can be sent or committed after the restart;
 * the new one resumes from the last committed offsets. `stop` asks each worker to close
 * gracefully and terminates the ones that do not answer in time.
 */
import { loadConfig } from "../src/config.ts";
import type { Cache } from "../src/cache/port.ts";
import type { MemoryLog } from "../src/log/memory.ts";
import { serveLog } from "../src/log/bridge/index.ts";
import { dropSuperseded } from "../src/stage/conflation.ts";
import { serveRpc } from "../src/rpc.ts";
import { CACHE_METHODS, type StagePorts } from "../src/stage/context.ts";
import type { EmbeddedOptions } from "../src/store/pglite.ts";
import type { Logger } from "../src/logger.ts";
import type { FromWorker, StageStats, ToWorker } from "../src/stage/protocol.ts";
import type { StageName } from "../src/stage/stages.ts";

export type WorkerState = "starting" | "running" | "restarting" | "stopping" | "stopped";

export interface WorkerStatus {
  stage: StageName;
  state: WorkerState;
  restarts: number;
  lastError?: string;
  stats?: StageStats;
}

interface Slot {
  status: WorkerStatus;
  worker?: Worker;
  /** When the worker last posted anything (Date.now()). */
  heardAt: number;
  stopServing?: () => Promise<void>;
  backoffMs: number;
  timer?: Timer;
  stopped?: () => void;
}

export interface SupervisorOptions {
  stages: readonly StageName[];
  env: Record<string, string | undefined>;
  /** What the main thread holds in-process and serves to the workers over ports. */
  memoryLog?: MemoryLog;
  /** Embedded PGlite's client options: each worker connects to it itself... */
  embeddedDb?: EmbeddedOptions;
  /** ...over a port of its own to PGlite's thread, when given (Store.embeddedConnector). */
  embeddedDbConnector?: () => MessagePort;
  memoryCache?: Cache;
  logger: Logger;
  restartMaxMs: number;
  /**
   * STAGE_HANDLER_TIMEOUT_MS (default: read from `env`): a running worker silent for a second
   * longer is restarted.
   */
  handlerTimeoutMs?: number;
  /** Where a stage's worker entry is (tests point this at fixtures). */
  entry?: (stage: StageName) => string;
}

const entry = (stage: StageName) => new URL(`../workers/${stage}.ts`, import.meta.url).href;

export class Supervisor {
  private readonly slots = new Map<StageName, Slot>();
  private stopping = false;
  private readonly silentMs: number;
  private watchdog: Timer | undefined;
  /** Settles when a worker's thread has ended. */
  private readonly ended = new WeakMap<Worker, Promise<void>>();

  constructor(private readonly options: SupervisorOptions) {
    // Stats come every second: silence for a second more than a handler may take is a stuck thread.
    this.silentMs = (options.handlerTimeoutMs ?? loadConfig(options.env).stageHandlerTimeoutMs) + 1_000;
  }

  start(): void {
    for (const stage of this.options.stages) {
      const slot: Slot = { status: { stage, state: "starting", restarts: 0 }, backoffMs: 100, heardAt: Date.now() };
      this.slots.set(stage, slot);
      this.spawn(slot);
    }
    this.watchdog = setInterval(() => this.watch(), Math.min(1_000, Math.max(50, Math.floor(this.silentMs / 4))));
    this.watchdog.unref?.();
  }

  /** Restarts running workers that have been silent too long: their thread is stuck. */
  private watch(): void {
    const now = Date.now();
    for (const slot of this.slots.values()) {
      if (slot.status.state !== "running" || !slot.worker) continue;
      const silent = now - slot.heardAt;
      if (silent > this.silentMs) this.crashed(slot, slot.worker, `no word from the worker for ${silent} ms (STAGE_HANDLER_TIMEOUT_MS + 1 s): its thread is stuck`);
    }
  }

  statuses(): WorkerStatus[] {
    return [...this.slots.values()].map((s) => ({ ...s.status }));
  }

  private spawn(slot: Slot): void {
    const { stage } = slot.status;
    const worker = new Worker((this.options.entry ?? entry)(stage));
    slot.worker = worker;
    this.ended.set(worker, new Promise((resolve) => worker.addEventListener("close", () => resolve(), { once: true })));
    slot.heardAt = Date.now();
    slot.status.state = "starting";
    const ports: StagePorts = {};
    const stops: Array<() => unknown> = [];
    if (this.options.memoryLog) {
      const channel = new MessageChannel();
      stops.push(serveLog(this.options.memoryLog, channel.port1, { thin: dropSuperseded }));
      ports.log = channel.port2;
    }
    if (this.options.memoryCache) {
      const channel = new MessageChannel();
      stops.push(serveRpc(this.options.memoryCache, channel.port1, CACHE_METHODS));
      ports.cache = channel.port2;
    }
    if (this.options.embeddedDbConnector) ports.db = this.options.embeddedDbConnector();
    slot.stopServing = async () => {
      for (const stop of stops) await stop();
    };
    const init: ToWorker = { t: "init", stage, env: this.options.env, ports, embeddedDb: this.options.embeddedDb };
    worker.postMessage(init, Object.values(ports));

    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const msg = event.data;
      if (slot.worker === worker) slot.heardAt = Date.now();
      if (msg.t === "ready") {
        slot.status.state = "running";
        slot.backoffMs = 100;
        if (msg.stats) slot.status.stats = msg.stats;
      } else if (msg.t === "stats") {
        slot.status.stats = msg.stats;
      } else if (msg.t === "stopped") {
        slot.status.stats = msg.stats;
        slot.stopped?.();
      } else if (msg.t === "failed") {
        this.crashed(slot, worker, msg.error);
      }
    };
    worker.onerror = (event: ErrorEvent) => this.crashed(slot, worker, event.message || "uncaught error");
    worker.addEventListener("close", () => {
      if (slot.worker === worker && !this.stopping && slot.status.state !== "restarting") this.crashed(slot, worker, "worker exited");
    });
  }

  private crashed(slot: Slot, worker: Worker, error: string): void {
    if (this.stopping || slot.worker !== worker) return;
    slot.worker = undefined;
    slot.status.state = "restarting";
    slot.status.lastError = error;
    slot.status.restarts++;
    const delay = slot.backoffMs;
    slot.backoffMs = Math.min(slot.backoffMs * 2, this.options.restartMaxMs);
    this.options.logger.error({ stage: slot.status.stage, error, restarts: slot.status.restarts, retry_in_ms: delay }, "stage worker crashed; restarting");
    // The old worker is gone and its ports closed (its uncommitted batches released to the group)
    // before the new one starts: work it still held cannot be sent or committed after the restart.
    const gone = Promise.race([this.ended.get(worker), Bun.sleep(5_000)]);
    worker.terminate();
    const serving = slot.stopServing;
    slot.stopServing = undefined;
    const released = Promise.all([gone, serving?.().catch(() => {})]);
    slot.timer = setTimeout(() => {
      void released.then(() => {
        if (!this.stopping) this.spawn(slot);
      });
    }, delay);
  }

  /** Asks every worker to finish and commit; terminates those still running after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.watchdog);
    await Promise.all(
      [...this.slots.values()].map(async (slot) => {
        clearTimeout(slot.timer);
        const worker = slot.worker;
        if (worker) {
          slot.status.state = "stopping";
          const stopped = new Promise<boolean>((resolve) => {
            slot.stopped = () => resolve(true);
            setTimeout(() => resolve(false), timeoutMs);
          });
          worker.postMessage({ t: "stop" } satisfies ToWorker);
          if (!(await stopped)) this.options.logger.warn({ stage: slot.status.stage, timeout_ms: timeoutMs }, "stage worker did not stop in time; terminated");
          worker.terminate();
        }
        await slot.stopServing?.();
        slot.status.state = "stopped";
      }),
    );
  }
}
