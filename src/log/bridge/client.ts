/**
 * A worker's end of the log's bridge: `RemoteLog`, the worker's view of the main thread's log.
 */
import { AlphaError } from "../../errors.ts";
import { fromWire, Requester, toWire, type Port, type Reply } from "../../request-reply.ts";
import type { BatchHandler, Consumer, ConsumerOptions, CreateTopicsResult, Log, Producer, ProducerOptions, TopicInfo, TopicPartition, TopicSpec } from "../port.ts";
import { SendGate } from "../semaphore.ts";
import { unpackBatch } from "./batch-codec.ts";
import type { BatchAck, ConsumerEvent, LogRequest } from "./wire.ts";

/** A request as the caller writes it: the requester adds the id. */
type Request = LogRequest extends infer R ? (R extends LogRequest ? Omit<R, "t"> : never) : never;

/**
 * What the main thread may leave out of a consumer's batches before they cross, by the rule it
 * serves with (`serveLog`'s `thin`): the stream processor's conflation (src/stage/conflation.ts),
 * which this bridge applies without the log port knowing of it.
 */
export interface Thinning {
  /** Topics whose superseded messages may stay on the main thread. */
  topics: readonly string[];
  /**
   * The keys that must keep every message now, asked after each batch is handled. Until it has
   * been answered, and after the assignment changed, nothing is left out.
   */
  keptKeys?: () => Iterable<string>;
  /** After each batch was handled, before it is acknowledged: what stayed behind, per topic. */
  leftOut(counts: Readonly<Record<string, number>> | undefined): void;
}

/**
 * A worker's view of the main thread's log.
 *
 * @example
 * // in a worker
 * const log = new RemoteLog(event.data.log);
 */
export class RemoteLog implements Log {
  readonly kind = "remote" as const;
  private nextConsumerId = 1;
  private readonly requests: Requester;
  private readonly consumers = new Map<number, RemoteConsumer>();
  private readonly closers = new Set<{ close(): Promise<void> }>();

  constructor(private readonly port: Port) {
    this.requests = new Requester(port);
    port.addEventListener("message", this.onMessage);
    port.start?.();
  }

  private readonly onMessage = (event: MessageEvent) => {
    const msg = event.data as Reply | ConsumerEvent;
    if (msg.t === "reply") this.requests.settle(msg);
    else this.consumers.get(msg.consumerId)?.receive(msg);
  };

  /** @internal */
  call<T>(request: Request): Promise<T> {
    return this.requests.call<T>({ ...request, t: "request" });
  }

  /** @internal */
  ack(batchId: number, error?: unknown, keptKeys?: string[]): void {
    this.port.postMessage({ t: "ack", batchId, error: error === undefined ? undefined : toWire(error), keptKeys } satisfies BatchAck);
  }

  createTopics(specs: readonly TopicSpec[]): Promise<CreateTopicsResult> {
    return this.call({ op: "createTopics", specs: [...specs] });
  }

  listTopics(): Promise<TopicInfo[]> {
    return this.call({ op: "listTopics" });
  }

  endOffsets(topic: string): Promise<number[]> {
    return this.call({ op: "endOffsets", topic });
  }

  producer(options: ProducerOptions = {}): Producer {
    const gate = new SendGate(options.maxInFlight ?? 8, options.maxQueued ?? 1024, `producer ${options.clientId ?? "remote"}`);
    let closed = false;
    const producer: Producer = {
      send: async (messages) => {
        if (closed) throw new AlphaError("LOG_CLOSED", "send on a closed producer");
        await gate.run(() => this.call({ op: "send", messages: [...messages] }));
      },
      close: async () => {
        closed = true;
        await gate.idle();
        this.closers.delete(producer);
      },
    };
    this.closers.add(producer);
    return producer;
  }

  /** A consumer; with `thinning`, its batches arrive without what the main thread may leave out. */
  consumer(options: ConsumerOptions, thinning?: Thinning): Consumer {
    const consumerId = this.nextConsumerId++;
    const consumer = new RemoteConsumer(this, consumerId, options, thinning, () => {
      this.consumers.delete(consumerId);
      this.closers.delete(consumer);
    });
    this.consumers.set(consumerId, consumer);
    this.closers.add(consumer);
    return consumer;
  }

  async close(): Promise<void> {
    await Promise.all([...this.closers].map((c) => c.close()));
    this.port.removeEventListener("message", this.onMessage);
  }
}

class RemoteConsumer implements Consumer {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (e: unknown) => void;
  private current: TopicPartition[] = [];
  private handler: BatchHandler | undefined;
  private closed = false;
  /** The kept keys last sent, joined. */
  private lastKeptKeys: string | undefined;

  constructor(
    private readonly log: RemoteLog,
    private readonly consumerId: number,
    private readonly options: ConsumerOptions,
    private readonly thinning: Thinning | undefined,
    private readonly onClose: () => void,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => {});
  }

  receive(msg: ConsumerEvent): void {
    if (msg.t === "done") {
      if (msg.error) this.rejectDone(fromWire(msg.error));
      else this.resolveDone();
      return;
    }
    if (msg.assignments) this.current = msg.assignments;
    if (msg.t === "batch") {
      this.handler!(unpackBatch(msg.batch)).then(
        () => {
          this.thinning?.leftOut(msg.leftOut);
          this.log.ack(msg.batchId, undefined, this.keptKeysChanged());
        },
        (err) => this.log.ack(msg.batchId, err ?? new Error("handler failed")),
      );
    }
  }

  assignments(): TopicPartition[] {
    return this.current.map((a) => ({ ...a }));
  }

  /** The kept keys now, when they differ from those last sent (always, the first time). */
  private keptKeysChanged(): string[] | undefined {
    if (!this.thinning?.keptKeys) return undefined;
    const keys = [...this.thinning.keptKeys()].sort();
    const joined = keys.join("\n");
    if (joined === this.lastKeptKeys) return undefined;
    this.lastKeptKeys = joined;
    return keys;
  }

  async run(handler: BatchHandler): Promise<void> {
    this.handler = handler;
    const thinning = this.thinning && { topics: [...this.thinning.topics], keepsKeys: this.thinning.keptKeys !== undefined };
    await this.log.call({ op: "run", consumerId: this.consumerId, options: this.options, ...(thinning ? { thinning } : {}) });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.log.call({ op: "closeConsumer", consumerId: this.consumerId });
    this.resolveDone(); // a no-op when the main thread already reported how it ended
    this.onClose();
  }
}
