/** One side of scripts/bench/wake.ts's log hop: a stage-like producer or consumer on the in-process log, through its bridge. */
import { RemoteLog } from "../../src/log/bridge/index.ts";
import type { Port } from "../../src/log/bridge/index.ts";

declare const self: Worker;

const now = () => performance.timeOrigin + performance.now();

interface Start {
  role: "producer" | "consumer";
  port: Port;
  topic: string;
  samples: number;
  intervalMs: number;
}

self.onmessage = async (e: MessageEvent<Start>) => {
  const { role, port, topic, samples, intervalMs } = e.data;
  const log = new RemoteLog(port);
  if (role === "producer") {
    const producer = log.producer({});
    // A few more than the consumer takes: it stops at `samples`.
    for (let i = 0; i < samples + 10; i++) {
      await Bun.sleep(intervalMs);
      await producer.send([{ topic, key: String(i % 16), value: String(now()) }]);
    }
    return;
  }
  const ms: number[] = [];
  const decoder = new TextDecoder();
  const consumer = log.consumer({ groupId: `${topic}.hop`, topics: [topic], startFrom: "earliest" });
  await consumer.run(async (batch) => {
    const at = now();
    for (const m of batch) if (ms.length < samples) ms.push(at - Number(decoder.decode(m.value)));
    if (ms.length === samples) self.postMessage({ ms });
  });
  self.postMessage("ready");
};
