/**
 * The in-process log across threads. The embedded log lives on the main thread; a Bun Worker gets
 * one end of a MessageChannel and a `RemoteLog` over it, and the main thread serves the other end
 * with `serveLog`. Every call is a request with an id and one reply; a consumer's batches are
 * pushed to the worker and acknowledged back, so offsets are committed only after the worker's
 * handler succeeded, exactly as with Kafka.
 */
import { AlphaError, type ErrorCode } from "../errors.ts";
import type {
  BatchHandler,
  Consumer,
  ConsumerOptions,
  Headers,
  CreateTopicsResult,
  Log,
  LogMessage,
  OutgoingMessage,
  Producer,
  ProducerOptions,
  TopicInfo,
  TopicPartition,
  TopicSpec,
} from "./port.ts";
import { utf8 } from "./port.ts";
import { superseded } from "./conflate.ts";
import { SendGate } from "./semaphore.ts";

/** The part of MessagePort both ends use. */
export interface Port {
  postMessage(message: unknown, options?: { transfer?: ArrayBuffer[] }): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  removeEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  start?(): void;
}

type Request =
  | { t: "req"; id: number; op: "createTopics"; specs: TopicSpec[] }
  | { t: "req"; id: number; op: "listTopics" }
  | { t: "req"; id: number; op: "endOffsets"; topic: string }
  | { t: "req"; id: number; op: "send"; messages: OutgoingMessage[] }
  | { t: "req"; id: number; op: "run"; cid: number; options: WireConsumerOptions }
  | { t: "req"; id: number; op: "closeConsumer"; cid: number };

/** A request as the caller writes it: the bridge adds the id. */
type Call = Request extends infer R ? (R extends Request ? Omit<R, "id" | "t"> : never) : never;

type Reply = { t: "res"; id: number; ok: true; value?: unknown } | { t: "res"; id: number; ok: false; error: WireError };
type Push =
  /** `assignments`: only when they changed since the worker was last told (cloning them cost ~30 µs a push). */
  | { t: "batch"; cid: number; bid: number; batch: PackedBatch; skipped?: Record<string, number>; assignments?: TopicPartition[] }
  | { t: "assign"; cid: number; assignments: TopicPartition[] }
  | { t: "done"; cid: number; error?: WireError };
/** `except`: the consumer's conflateExcept keys after the batch, when they changed. */
type Ack = { t: "ack"; bid: number; error?: WireError; except?: string[] };
/** Consumer options as they cross: a function does not, so conflateExcept is only flagged. */
type WireConsumerOptions = Omit<ConsumerOptions, "conflateExcept"> & { conflateExcept?: true };

/**
 * A batch as it crosses the thread boundary: everything but the topic names and the (rare)
 * headers in one ArrayBuffer, transferred, not copied. Cloning a thousand message objects, one
 * Uint8Array each, cost several microseconds a message per worker; typed arrays and a string
 * beside the buffer still cost ~0.2 ms a batch to post on a busy machine, against ~0.05 ms for
 * the one buffer.
 *
 * Layout, for n messages: offset and timestamp (Float64, n each), partition (Int32), keyEnd and
 * valueEnd (Uint32; keyEnd in UTF-16 units of the keys joined), topic (Uint16: an index into
 * `topics`), then the values' bytes, then the keys joined, as UTF-8, at `keysAt`.
 */
export interface PackedBatch {
  n: number;
  topics: string[];
  buf: ArrayBuffer;
  keysAt: number;
  keyBytes: number;
  /** [message index, headers] for the messages that have any. */
  headers: Array<[number, Headers]>;
}

/** The per-message columns at the start of a packed batch's buffer (layout above). */
function columns(buf: ArrayBuffer, n: number) {
  return {
    offset: new Float64Array(buf, 0, n),
    timestamp: new Float64Array(buf, 8 * n, n),
    partition: new Int32Array(buf, 16 * n, n),
    keyEnd: new Uint32Array(buf, 20 * n, n),
    valueEnd: new Uint32Array(buf, 24 * n, n),
    topic: new Uint16Array(buf, 28 * n, n),
  };
}

/** @internal exported for tests */
export function packBatch(batch: readonly LogMessage[]): PackedBatch {
  const n = batch.length;
  const topics: string[] = [];
  const headers: Array<[number, Headers]> = [];
  let valueBytes = 0;
  let keyLength = 0;
  const keys: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const m = batch[i]!;
    valueBytes += m.value.byteLength;
    keyLength += m.key.length;
    keys[i] = m.key;
  }
  const valuesAt = 30 * n;
  const keysAt = valuesAt + valueBytes;
  // At most 3 bytes of UTF-8 a UTF-16 unit.
  const buf = new ArrayBuffer(keysAt + 3 * keyLength);
  const { offset, timestamp, partition, keyEnd, valueEnd, topic } = columns(buf, n);
  const bytes = new Uint8Array(buf);
  let lastTopic = "";
  let lastIndex = -1;
  for (let i = 0, k = 0, v = 0; i < n; i++) {
    const m = batch[i]!;
    if (m.topic !== lastTopic) {
      lastTopic = m.topic;
      lastIndex = topics.indexOf(m.topic);
      if (lastIndex < 0) lastIndex = topics.push(m.topic) - 1;
    }
    topic[i] = lastIndex;
    partition[i] = m.partition;
    offset[i] = m.offset;
    timestamp[i] = m.timestamp;
    keyEnd[i] = k += m.key.length;
    bytes.set(m.value, valuesAt + v);
    valueEnd[i] = v += m.value.byteLength;
    for (const _ in m.headers) {
      headers.push([i, m.headers]);
      break;
    }
  }
  const written = utf8.encodeInto(keys.join(""), new Uint8Array(buf, keysAt));
  return { n, topics, buf, keysAt, keyBytes: written, headers };
}

/** @internal exported for tests */
export function unpackBatch(p: PackedBatch): LogMessage[] {
  const { n, buf } = p;
  const out: LogMessage[] = new Array(n);
  const headers = p.headers.length > 0 ? new Map(p.headers) : undefined;
  const { offset, timestamp, partition, keyEnd, valueEnd, topic } = columns(buf, n);
  const keys = utf8.decode(new Uint8Array(buf, p.keysAt, p.keyBytes));
  const valuesAt = 30 * n;
  for (let i = 0, k = 0, v = 0; i < n; i++) {
    const ke = keyEnd[i]!;
    const ve = valueEnd[i]!;
    out[i] = {
      topic: p.topics[topic[i]!]!,
      partition: partition[i]!,
      offset: offset[i]!,
      key: keys.slice(k, ke),
      value: new Uint8Array(buf, valuesAt + v, ve - v),
      headers: headers?.get(i) ?? {},
      timestamp: timestamp[i]!,
    };
    k = ke;
    v = ve;
  }
  return out;
}

/**
 * A batch without its superseded messages, and how many were left out per topic. Done on the main
 * thread before packing: at feed rates most ticks are superseded, and packing, posting and
 * unpacking them for a stage that skips them was a good part of the main thread's work.
 *
 * With `except` (ConsumerOptions.conflateExcept, as the worker last reported it), those keys keep
 * every message, and so does everything after the batch's first message of a topic that is not
 * conflated: it may change what the worker would except.
 */
export function conflateBatch(batch: readonly LogMessage[], conflatable: ReadonlySet<string>, except?: ReadonlySet<string>): { batch: readonly LogMessage[]; skipped?: Record<string, number> } {
  const mask = superseded(batch, conflatable);
  if (except) {
    let i = 0;
    for (; i < batch.length && conflatable.has(batch[i]!.topic); i++) if (mask[i] && except.has(batch[i]!.key)) mask[i] = 0;
    mask.fill(0, i);
  }
  if (!mask.includes(1)) return { batch };
  const kept: LogMessage[] = [];
  const skipped: Record<string, number> = {};
  for (let i = 0; i < batch.length; i++) {
    const m = batch[i]!;
    if (mask[i]) skipped[m.topic] = (skipped[m.topic] ?? 0) + 1;
    else kept.push(m);
  }
  return { batch: kept, skipped };
}

interface WireError {
  message: string;
  code?: ErrorCode;
  canRetry?: boolean;
}

const toWire = (err: unknown): WireError =>
  err instanceof AlphaError ? { message: err.message, code: err.code, canRetry: err.canRetry } : { message: (err as Error)?.message ?? String(err) };

const fromWire = (w: WireError): Error => (w.code ? new AlphaError(w.code, w.message, { canRetry: w.canRetry }) : new Error(w.message));

/**
 * Whether two lists of assignments are the same, in the same order (a consumer's list keeps its
 * order until it changes). Compared in place: building a string of them on every push was 3% of
 * the main thread's time under load.
 */
function sameAssignments(a: readonly TopicPartition[], b: readonly TopicPartition[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y && (x.topic !== y.topic || x.partition !== y.partition)) return false;
  }
  return true;
}

/**
 * Serves `log` to the other end of `port`. Returns a function that stops serving and closes the
 * consumers opened for that end.
 *
 * @example
 * const { port1, port2 } = new MessageChannel();
 * const stop = serveLog(memoryLog, port1);
 * worker.postMessage({ log: port2 }, [port2]);
 */
export function serveLog(log: Log, port: Port): () => Promise<void> {
  const producer = log.producer({ maxInFlight: 64, maxQueued: 100_000 });
  const consumers = new Map<number, Consumer>();
  const acks = new Map<number, { resolve: () => void; reject: (e: Error) => void; except?: (keys?: string[]) => void }>();
  let nextBatch = 1;

  const reply = (id: number, work: Promise<unknown>) =>
    work.then(
      (value) => port.postMessage({ t: "res", id, ok: true, value } satisfies Reply),
      (err) => port.postMessage({ t: "res", id, ok: false, error: toWire(err) } satisfies Reply),
    );

  const onMessage = (event: MessageEvent) => {
    const msg = event.data as Request | Ack;
    if (msg.t === "ack") {
      const waiter = acks.get(msg.bid);
      acks.delete(msg.bid);
      // Before the batch is settled: the consumer's next batch is conflated with these.
      if (!msg.error) waiter?.except?.(msg.except);
      if (msg.error) waiter?.reject(fromWire(msg.error));
      else waiter?.resolve();
      return;
    }
    switch (msg.op) {
      case "createTopics":
        return void reply(msg.id, log.createTopics(msg.specs));
      case "listTopics":
        return void reply(msg.id, log.listTopics());
      case "endOffsets":
        return void reply(msg.id, log.endOffsets(msg.topic));
      case "send":
        return void reply(msg.id, producer.send(msg.messages));
      case "run": {
        const { conflateExcept: excepts, ...options } = msg.options;
        const consumer = log.consumer(options);
        consumers.set(msg.cid, consumer);
        // The assignments the worker was last told of (with a batch, or on their own), and how
        // many times they changed: the conflateExcept keys belong to one of those.
        let lastAssigned: TopicPartition[] | undefined;
        let generation = 0;
        /** Takes the consumer's assignments now; whether they changed since the worker was told. */
        const assignmentsNow = () => {
          const assignments = consumer.assignments();
          const changed = !lastAssigned || !sameAssignments(assignments, lastAssigned);
          if (changed) generation++;
          lastAssigned = assignments;
          return { assignments, changed };
        };
        const pushAssignments = () => {
          const { assignments, changed } = assignmentsNow();
          if (changed) port.postMessage({ t: "assign", cid: msg.cid, assignments } satisfies Push);
        };
        const timer = setInterval(pushAssignments, 100);
        consumer.done.then(
          () => port.postMessage({ t: "done", cid: msg.cid } satisfies Push),
          (err) => port.postMessage({ t: "done", cid: msg.cid, error: toWire(err) } satisfies Push),
        ).finally(() => clearInterval(timer));
        const conflatable = new Set(msg.options.conflate ?? []);
        // conflateExcept: the keys the worker last reported, for the assignment they were
        // reported under; none yet means nothing is left out.
        const excepting = excepts === true;
        let except: { keys: ReadonlySet<string>; generation: number } | undefined;
        const handler: BatchHandler = (fetched) =>
          new Promise<void>((resolve, reject) => {
            const bid = nextBatch++;
            const { assignments, changed } = assignmentsNow();
            const assigned = generation;
            // An ack without keys: unchanged, and still so under this batch's assignment.
            const setExcept = excepting ? (keys?: string[]) => (except = keys ? { keys: new Set(keys), generation: assigned } : except && { keys: except.keys, generation: assigned }) : undefined;
            acks.set(bid, { resolve, reject, except: setExcept });
            const { batch, skipped } =
              conflatable.size === 0 || (excepting && except?.generation !== assigned)
                ? { batch: fetched, skipped: undefined }
                : conflateBatch(fetched, conflatable, excepting ? except!.keys : undefined);
            const packed = packBatch(batch);
            const push: Push = { t: "batch", cid: msg.cid, bid, batch: packed, skipped, ...(changed ? { assignments } : {}) };
            port.postMessage(push, { transfer: [packed.buf] });
          });
        return void reply(msg.id, consumer.run(handler).then(pushAssignments));
      }
      case "closeConsumer": {
        const consumer = consumers.get(msg.cid);
        consumers.delete(msg.cid);
        return void reply(msg.id, consumer ? consumer.close() : Promise.resolve());
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
 * A worker's view of the main thread's log.
 *
 * @example
 * // in a worker
 * const log = new RemoteLog(event.data.log);
 */
export class RemoteLog implements Log {
  readonly kind = "remote" as const;
  private nextId = 1;
  private nextConsumer = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly consumers = new Map<number, RemoteConsumer>();
  private readonly closers = new Set<{ close(): Promise<void> }>();

  constructor(private readonly port: Port) {
    port.addEventListener("message", this.onMessage);
    port.start?.();
  }

  private readonly onMessage = (event: MessageEvent) => {
    const msg = event.data as Reply | Push;
    if (msg.t === "res") {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.ok) p?.resolve(msg.value);
      else p?.reject(fromWire(msg.error));
    } else {
      this.consumers.get(msg.cid)?.receive(msg);
    }
  };

  /** @internal */
  call<T>(request: Call): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.port.postMessage({ ...request, t: "req", id });
    });
  }

  /** @internal */
  ack(bid: number, error?: unknown, except?: string[]): void {
    this.port.postMessage({ t: "ack", bid, error: error === undefined ? undefined : toWire(error), except } satisfies Ack);
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

  consumer(options: ConsumerOptions): Consumer {
    const cid = this.nextConsumer++;
    const consumer = new RemoteConsumer(this, cid, options, () => {
      this.consumers.delete(cid);
      this.closers.delete(consumer);
    });
    this.consumers.set(cid, consumer);
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
  private lastExcept: string | undefined;

  constructor(
    private readonly log: RemoteLog,
    private readonly cid: number,
    private readonly options: ConsumerOptions,
    private readonly onClose: () => void,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => {});
  }

  receive(msg: Push): void {
    if (msg.t === "done") {
      if (msg.error) this.rejectDone(fromWire(msg.error));
      else this.resolveDone();
      return;
    }
    if (msg.assignments) this.current = msg.assignments;
    if (msg.t === "batch") {
      const handler = this.handler!;
      handler(unpackBatch(msg.batch), msg.skipped).then(
        () => this.log.ack(msg.bid, undefined, this.exceptChanged()),
        (err) => this.log.ack(msg.bid, err ?? new Error("handler failed")),
      );
    }
  }

  assignments(): TopicPartition[] {
    return this.current.map((a) => ({ ...a }));
  }

  /** The conflateExcept keys now, when they differ from those last sent (always, the first time). */
  private exceptChanged(): string[] | undefined {
    if (!this.options.conflateExcept) return undefined;
    const keys = [...this.options.conflateExcept()].sort();
    const text = keys.join("\n");
    if (text === this.lastExcept) return undefined;
    this.lastExcept = text;
    return keys;
  }

  async run(handler: BatchHandler): Promise<void> {
    this.handler = handler;
    const { conflateExcept, ...options } = this.options;
    await this.log.call({ op: "run", cid: this.cid, options: conflateExcept ? { ...options, conflateExcept: true } : options });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.log.call({ op: "closeConsumer", cid: this.cid });
    this.resolveDone(); // a no-op when the main thread already reported how it ended
    this.onClose();
  }
}
