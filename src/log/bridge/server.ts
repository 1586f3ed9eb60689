/**
 * The main thread's end of the log's bridge: serves a log (the in-process one) to a worker's
 * `RemoteLog` over a MessagePort.
 */
import { AlphaError } from "../../errors.ts";
import { fromWire, replyTo, toWire, type Port } from "../../request-reply.ts";
import type { BatchHandler, Consumer, Log, LogMessage, TopicPartition } from "../port.ts";
import { packBatch } from "./batch-codec.ts";
import type { BatchAck, ConsumerEvent, LogRequest, WireThinning } from "./wire.ts";

/**
 * What the server may leave out of a batch for a consumer that asked for thinning: the messages
 * of `topics` the rule finds superseded, but none of `keptKeys`; how many it left out, per topic.
 * The bridge knows no rule of its own: the stream processor's conflation
 * (src/stage/conflation.ts `dropSuperseded`) is given to `serveLog` by whoever serves it.
 */
export type ThinBatch = (
  batch: readonly LogMessage[],
  topics: ReadonlySet<string>,
  keptKeys?: ReadonlySet<string>,
) => { batch: readonly LogMessage[]; leftOut?: Record<string, number> };

export interface ServeLogOptions {
  /** Applied to the batches of the consumers that ask for it; without it every message crosses. */
  thin?: ThinBatch;
}

/** Whether two lists of assignments are the same, in the same order (a consumer's list keeps its order until it changes). */
function sameAssignments(a: readonly TopicPartition[], b: readonly TopicPartition[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y && (x.topic !== y.topic || x.partition !== y.partition)) return false;
  }
  return true;
}

interface AckWaiter {
  resolve: () => void;
  reject: (err: Error) => void;
  /** Takes the kept keys a successful ack reported (none: unchanged). */
  keepKeys?: (keys?: string[]) => void;
}

/**
 * Serves `log` to the other end of `port`. Returns a function that stops serving and closes the
 * consumers opened for that end.
 *
 * @example
 * const { port1, port2 } = new MessageChannel();
 * const stop = serveLog(memoryLog, port1, { thin: dropSuperseded });
 * worker.postMessage({ log: port2 }, [port2]);
 */
export function serveLog(log: Log, port: Port, options: ServeLogOptions = {}): () => Promise<void> {
  const producer = log.producer({ maxInFlight: 64, maxQueued: 100_000 });
  const consumers = new Map<number, Consumer>();
  const acks = new Map<number, AckWaiter>();
  const batchIds = { next: 1 };

  const onAck = (ack: BatchAck) => {
    const waiter = acks.get(ack.batchId);
    acks.delete(ack.batchId);
    if (ack.error) return waiter?.reject(fromWire(ack.error));
    // Before the batch is settled: the consumer's next batch is thinned by these.
    waiter?.keepKeys?.(ack.keptKeys);
    waiter?.resolve();
  };

  const onMessage = (event: MessageEvent) => {
    const msg = event.data as (LogRequest & { id: number }) | BatchAck;
    if (msg.t === "ack") return onAck(msg);
    switch (msg.op) {
      case "createTopics":
        return void replyTo(port, msg.id, log.createTopics(msg.specs));
      case "listTopics":
        return void replyTo(port, msg.id, log.listTopics());
      case "endOffsets":
        return void replyTo(port, msg.id, log.endOffsets(msg.topic));
      case "send":
        return void replyTo(port, msg.id, producer.send(msg.messages));
      case "run": {
        const consumer = log.consumer(msg.options);
        consumers.set(msg.consumerId, consumer);
        const thin = msg.thinning && options.thin ? { rule: options.thin, ...msg.thinning } : undefined;
        const handler = deliverBatches(port, consumer, msg.consumerId, acks, batchIds, thin);
        return void replyTo(port, msg.id, consumer.run(handler.handle).then(handler.pushAssignments));
      }
      case "closeConsumer": {
        const consumer = consumers.get(msg.consumerId);
        consumers.delete(msg.consumerId);
        return void replyTo(port, msg.id, consumer ? consumer.close() : Promise.resolve());
      }
    }
  };
  port.addEventListener("message", onMessage);
  port.start?.();

  return async () => {
    port.removeEventListener("message", onMessage);
    for (const { reject } of acks.values()) reject(new AlphaError("LOG_CLOSED", "the worker's end of the log went away"));
    acks.clear();
    await Promise.all([...consumers.values()].map((c) => c.close()));
    consumers.clear();
    await producer.close();
  };
}

/**
 * The handler a served consumer runs: each batch (thinned, when asked) is posted to the worker and
 * settles with the worker's ack. Assignments go with a batch when they changed, and on their own
 * every 100 ms.
 */
function deliverBatches(
  port: Port,
  consumer: Consumer,
  consumerId: number,
  acks: Map<number, AckWaiter>,
  batchIds: { next: number },
  thin: (WireThinning & { rule: ThinBatch }) | undefined,
): { handle: BatchHandler; pushAssignments: () => void } {
  // The assignments the worker was last told of, and how many times they changed: kept keys
  // belong to the assignment they were reported under.
  let lastAssigned: TopicPartition[] | undefined;
  let generation = 0;
  const assignmentsNow = () => {
    const assignments = consumer.assignments();
    const changed = !lastAssigned || !sameAssignments(assignments, lastAssigned);
    if (changed) generation++;
    lastAssigned = assignments;
    return { assignments, changed };
  };
  const pushAssignments = () => {
    const { assignments, changed } = assignmentsNow();
    if (changed) port.postMessage({ t: "assign", consumerId, assignments } satisfies ConsumerEvent);
  };
  const timer = setInterval(pushAssignments, 100);
  consumer.done
    .then(
      () => port.postMessage({ t: "done", consumerId } satisfies ConsumerEvent),
      (err) => port.postMessage({ t: "done", consumerId, error: toWire(err) } satisfies ConsumerEvent),
    )
    .finally(() => clearInterval(timer));

  const topics = new Set(thin?.topics ?? []);
  // With kept keys: those the worker last reported, for the assignment they were reported under;
  // none yet means nothing is left out.
  let kept: { keys: ReadonlySet<string>; generation: number } | undefined;
  const handle: BatchHandler = (fetched) =>
    new Promise<void>((resolve, reject) => {
      const batchId = batchIds.next++;
      const { assignments, changed } = assignmentsNow();
      const assigned = generation;
      // An ack without keys: unchanged, and still so under this batch's assignment.
      const keepKeys = thin?.keepsKeys
        ? (keys?: string[]) => (kept = keys ? { keys: new Set(keys), generation: assigned } : kept && { keys: kept.keys, generation: assigned })
        : undefined;
      acks.set(batchId, { resolve, reject, keepKeys });
      const { batch, leftOut } =
        !thin || topics.size === 0 || (thin.keepsKeys && kept?.generation !== assigned)
          ? { batch: fetched, leftOut: undefined }
          : thin.rule(fetched, topics, thin.keepsKeys ? kept!.keys : undefined);
      const packed = packBatch(batch);
      const delivery: ConsumerEvent = { t: "batch", consumerId, batchId, batch: packed, leftOut, ...(changed ? { assignments } : {}) };
      port.postMessage(delivery, { transfer: [packed.buf] });
    });
  return { handle, pushAssignments };
}
