/**
 * The machine's floor under every hop between threads: how long a sleeping thread takes to run
 * after another wakes it. Two workers; 300 wake-ups 10 ms apart (so the woken thread is asleep
 * each time), timed from just before the wake to the woken thread's first statement after it:
 * - `futex`: the woken thread blocked in Atomics.wait, woken by Atomics.notify: the kernel's and
 *   the hypervisor's part alone;
 * - `post_message`: the woken thread's event loop idle, woken by a MessagePort message: Bun's
 *   way, and what an embedded stage hop pays twice (worker → main thread → worker).
 * A tick's way to a fill crosses about ten of these in series (README, "What limits").
 */
import { histogram, percentiles, type Percentiles } from "./loadgen.ts";

export interface Wake {
  futex: Percentiles;
  post_message: Percentiles;
}

/** Percentiles (ms) of samples in ms. */
function quantiles(ms: number[]): Percentiles {
  const h = histogram();
  for (const x of ms) h.recordValue(Math.max(1, Math.round(x * 1000)));
  return percentiles(h);
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
