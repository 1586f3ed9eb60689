/**
 * One link of scripts/bench/wake.ts's chain: waits, with its event loop idle, for the link before
 * it, and passes the start time on at once. Over shared memory (`Atomics.waitAsync` woken by
 * `Atomics.notify`) or over a port of its own to each neighbour (no main thread between them).
 */
declare const self: Worker;

const now = () => performance.timeOrigin + performance.now();

interface Start {
  via: "shared" | "port";
  /** This link's place in the chain, 1…links; the last one records. */
  link: number;
  links: number;
  samples: number;
  /** shared: every link's counter and start time (`slots`). */
  sab?: SharedArrayBuffer;
  from?: MessagePort;
  to?: MessagePort;
}

/** Link k's counter and the start time it passed on, in the shared buffer (k = 0: the sender's). */
export function slots(sab: SharedArrayBuffer, links: number) {
  return { count: new Int32Array(sab, 0, links + 1), startedAt: new Float64Array(sab, 8 * Math.ceil((links + 1) / 2), links + 1) };
}

/** The shared buffer for a chain of `links`. */
export const slotsBytes = (links: number) => 8 * Math.ceil((links + 1) / 2) + 8 * (links + 1);

// Imported on the main thread for `slots`: only a worker runs a link.
if (!Bun.isMainThread) self.onmessage = async (e: MessageEvent<Start>) => {
  const { via, link, links, samples, sab, from, to } = e.data;
  const last = link === links;
  const ms: number[] = [];
  const done = () => self.postMessage({ ms });
  if (via === "port") {
    from!.onmessage = (m) => {
      if (last) {
        ms.push(now() - (m.data as number));
        if (ms.length === samples) done();
      } else to!.postMessage(m.data);
    };
    self.postMessage("ready");
    return;
  }
  const { count, startedAt } = slots(sab!, links);
  self.postMessage("ready");
  let seen = 0;
  // Until the sender's last message, counted by the sender: a link kept off the CPU for longer
  // than the interval sees two as one, and passes on only the newer (that one is not a sample).
  while (seen < samples) {
    const w = Atomics.waitAsync(count, link - 1, seen);
    if (w.async) await w.value;
    const c = Atomics.load(count, link - 1);
    const t = startedAt[link - 1]!;
    if (last) {
      if (c === seen + 1) ms.push(now() - t);
    } else {
      startedAt[link] = t;
      Atomics.add(count, link, c - seen);
      Atomics.notify(count, link);
    }
    seen = c;
  }
  if (last) done();
};
