/** One side of scripts/bench/wake.ts: the waker or the woken, over shared memory and then a port. */
declare const self: Worker;

const now = () => performance.timeOrigin + performance.now();

interface Start {
  role: "waker" | "woken";
  sab: SharedArrayBuffer;
  port: MessagePort;
  samples: number;
  intervalMs: number;
}

self.onmessage = async (e: MessageEvent<Start>) => {
  const { role, sab, port, samples, intervalMs } = e.data;
  const count = new Int32Array(sab, 0, 1);
  const sentAt = new Float64Array(sab, 8, 1);
  if (role === "waker") {
    for (let i = 0; i < samples; i++) {
      await Bun.sleep(intervalMs);
      sentAt[0] = now();
      Atomics.add(count, 0, 1);
      Atomics.notify(count, 0);
    }
    for (let i = 0; i < samples; i++) {
      await Bun.sleep(intervalMs);
      port.postMessage(now());
    }
    return;
  }
  const futex: number[] = [];
  let seen = 0;
  self.postMessage("ready");
  // Until the waker's last wake-up (counted by the waker, not by the samples taken: a thread kept
  // off the CPU for longer than the interval sees two wake-ups as one, and would wait forever
  // for the last). Such a late wake-up is not a sample: the time sent may be the next one's.
  while (seen < samples) {
    Atomics.wait(count, 0, seen);
    const at = now();
    const c = Atomics.load(count, 0);
    if (c === seen + 1) futex.push(at - sentAt[0]!);
    seen = c;
  }
  const posted: number[] = [];
  port.onmessage = (m) => {
    posted.push(now() - (m.data as number));
    if (posted.length === samples) self.postMessage({ futex, posted });
  };
};
