/**
 * The machine's floor under every hop between threads: how long a sleeping thread takes to run
 * after another wakes it. Two workers; 300 wake-ups 10 ms apart (so the woken thread is asleep
 * each time), timed from just before the wake to the woken thread's first statement after it:
 * - `futex`: the woken thread blocked in Atomics.wait, woken by Atomics.notify: the kernel's and
 *   the hypervisor's part alone;
 * - `post_message`: the woken thread's event loop idle, woken by a MessagePort message: Bun's
 *   way, and what an embedded stage hop pays twice (worker → main thread → worker).
 * A tick's way to a fill crosses about ten of these in series (README, "What limits").
 * - `log_hop`: one hop as an embedded stage makes it, whole: a worker's producer sends one
 *   message every 10 ms to the in-process log on this thread, through the log's bridge, and
 *   another worker's consumer takes it up (timed from before the send to the consumer's batch).
 *   Four of these, with the stages' work and a ledger statement, are an embedded tick → fill.
 */
import { serveLog } from "../../src/log/bridge.ts";
import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import { percentilesOfMs as quantiles, type Percentiles } from "./loadgen.ts";

export interface Wake {
  futex: Percentiles;
  post_message: Percentiles;
  log_hop?: Percentiles;
}


export async function measureWake(samples = 300, intervalMs = 10): Promise<Wake> {
  const url = new URL("./wake-worker.ts", import.meta.url).href;
  const [waker, woken] = [new Worker(url), new Worker(url)];
  try {
    const sab = new SharedArrayBuffer(16);
    const { port1, port2 } = new MessageChannel();
    const result = new Promise<{ futex: number[]; posted: number[] }>((resolve, reject) => {
      woken.onerror = (e) => reject(new Error(e.message));
      waker.onerror = (e) => reject(new Error(e.message));
      woken.onmessage = (m) => {
        if (m.data === "ready") waker.postMessage({ role: "waker", sab, port: port1, samples, intervalMs }, [port1]);
        else resolve(m.data);
      };
    });
    woken.postMessage({ role: "woken", sab, port: port2, samples, intervalMs }, [port2]);
    const { futex, posted } = await Promise.race([result, Bun.sleep(samples * intervalMs * 4 + 10_000).then(() => Promise.reject(new Error("thread wake-up measurement timed out")))]);
    return { futex: quantiles(futex), post_message: quantiles(posted) };
  } finally {
    waker.terminate();
    woken.terminate();
  }
}

/** One hop through the in-process log, worker to worker, `samples` messages `intervalMs` apart. */
export async function measureLogHop(samples = 500, intervalMs = 10): Promise<Percentiles> {
  const url = new URL("./log-hop-worker.ts", import.meta.url).href;
  const log = new MemoryLog(new MemoryBroker());
  const topic = "bench.hop";
  await log.createTopics([{ name: topic, partitions: 6, retentionMs: -1 }]);
  const workers: Worker[] = [];
  const stops: Array<() => Promise<void>> = [];
  const start = (role: "producer" | "consumer") => {
    const w = new Worker(url);
    const { port1, port2 } = new MessageChannel();
    stops.push(serveLog(log, port1));
    w.postMessage({ role, port: port2, topic, samples, intervalMs }, [port2]);
    workers.push(w);
    return w;
  };
  try {
    const consumer = start("consumer");
    const result = new Promise<number[]>((resolve, reject) => {
      consumer.onerror = (e) => reject(new Error(e.message));
      consumer.onmessage = (m) => {
        if (m.data === "ready") start("producer").onerror = (e) => reject(new Error(e.message));
        else resolve((m.data as { ms: number[] }).ms);
      };
    });
    const ms = await Promise.race([result, Bun.sleep(samples * intervalMs * 4 + 10_000).then(() => Promise.reject(new Error("log hop measurement timed out")))]);
    return quantiles(ms);
  } finally {
    for (const w of workers) w.terminate();
    for (const stop of stops) await stop().catch(() => {});
    await log.close();
  }
}
