/**
 * Reads brokers' control topics from the beginning and folds them into a ControlState per broker
 * (src/control/state.ts), in log order. Each reader is a consumer group of its own (a new id each
 * time, starting at the earliest offset), so it sees every command and shares no partition.
 * `caughtUp()` is the guarantee's other half: it resolves once the reader has applied everything
 * the log held when it was called, so a command acknowledged before then is in the state.
 */
import type { Broker } from "../config.ts";
import { decodeEnvelope, newId } from "../events/envelope.ts";
import { AlphaError } from "../errors.ts";
import type { Consumer, Log, LogMessage } from "../log/port.ts";
import type { Logger } from "../logger.ts";
import { brokerOfTopic, topicName } from "../topics.ts";
import { isControlType, type ControlCommand } from "./commands.ts";
import { evolveControl, initialControlState, type ControlState } from "./state.ts";

/** A command as applied: where it was and when it was sent. */
export interface AppliedControl {
  broker: Broker;
  command: ControlCommand;
  offset: number;
  /** The envelope's ts, ms since the epoch. */
  at: number;
  /** The envelope's id (the daily-loss halt derives it from the event that breached). */
  id: string;
}

/** Called for each command in log order; a promise holds the reader (and `caughtUp`) until it settles. */
export type ControlListener = (c: AppliedControl) => void | Promise<void>;

export interface ControlReaderOptions {
  /** Names the reader's group (`alpha-panda.control.<name>.<uuid>`) and client. */
  name: string;
  logger?: Logger;
  /** After the consumer failed (the log down), a new one starts this much later (default 1 s). */
  restartMs?: number;
}

interface Waiter {
  ends: Map<string, number[]>;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * @example
 * const reader = new ControlReader(log, ["paper"], { name: "risk" });
 * reader.onCommand((c) => console.log(c.command.type, c.offset));
 * await reader.start();
 * await reader.caughtUp();
 * reader.state("paper").trading.state; // "ACTIVE"
 */
export class ControlReader {
  private readonly states = new Map<Broker, ControlState>();
  /** Per topic, per partition: the next offset to apply. */
  private readonly next = new Map<string, number[]>();
  private readonly listeners: ControlListener[] = [];
  private waiters: Waiter[] = [];
  private consumer: Consumer | undefined;
  private closed = false;
  private restartTimer: Timer | undefined;
  readonly topics: string[];

  constructor(
    private readonly log: Log,
    readonly brokers: readonly Broker[],
    private readonly options: ControlReaderOptions,
  ) {
    this.topics = brokers.map((b) => topicName("control", b));
    for (const b of brokers) this.states.set(b, initialControlState());
  }

  /** A broker's controls as applied so far. */
  state(broker: Broker): ControlState {
    const s = this.states.get(broker);
    if (!s) throw new AlphaError("INTERNAL", `this control reader does not read ${broker}'s controls`);
    return s;
  }

  /** Adds a listener for the commands applied from now on. */
  onCommand(listener: ControlListener): void {
    this.listeners.push(listener);
  }

  /** Joins (a group of its own) and starts applying; resolves once joined. */
  async start(): Promise<void> {
    const consumer = this.log.consumer({
      groupId: `alpha-panda.control.${this.options.name}.${newId()}`,
      topics: this.topics,
      startFrom: "earliest",
      clientId: `control-${this.options.name}`,
    });
    this.consumer = consumer;
    consumer.done.catch((err: unknown) => this.restart(consumer, err));
    await consumer.run((batch) => this.apply(batch));
  }

  /** A consumer that failed (the log went away) is replaced; the next resumes where this one was. */
  private restart(failed: Consumer, err: unknown): void {
    if (this.closed || this.consumer !== failed) return;
    this.options.logger?.error({ err: (err as Error).message, reader: this.options.name }, "control reader stopped; starting it again");
    this.restartTimer = setTimeout(() => {
      if (!this.closed) this.start().catch((e: unknown) => this.restart(this.consumer!, e));
    }, this.options.restartMs ?? 1_000);
  }

  private async apply(batch: readonly LogMessage[]): Promise<void> {
    for (const m of batch) {
      let next = this.next.get(m.topic);
      if (!next) this.next.set(m.topic, (next = []));
      // A restarted consumer reads from the start again: what is applied stays applied.
      if (m.offset < (next[m.partition] ?? 0)) continue;
      const broker = brokerOfTopic(m.topic);
      if (broker !== "shared") await this.applyOne(broker, m);
      next[m.partition] = m.offset + 1;
    }
    this.wake();
  }

  private async applyOne(broker: Broker, m: LogMessage): Promise<void> {
    let cmd: ControlCommand;
    let at: number;
    let id: string;
    try {
      const e = decodeEnvelope(m.value);
      if (!isControlType(e.type)) throw new AlphaError("PAYLOAD_INVALID", `${e.type} is not a control command`);
      cmd = { type: e.type, data: e.data } as ControlCommand;
      at = Date.parse(e.ts);
      id = e.id;
    } catch (err) {
      // Nothing we wrote: it changes nothing, and every reader says so.
      this.options.logger?.error({ topic: m.topic, offset: m.offset, err: (err as Error).message }, "control topic: not a control command; ignored");
      return;
    }
    this.states.set(broker, evolveControl(this.states.get(broker)!, cmd, m.offset, at));
    const applied: AppliedControl = { broker, command: cmd, offset: m.offset, at, id };
    for (const l of this.listeners) await l(applied);
  }

  private reached(ends: Map<string, number[]>): boolean {
    for (const [topic, perPartition] of ends) {
      const next = this.next.get(topic) ?? [];
      for (let p = 0; p < perPartition.length; p++) if ((next[p] ?? 0) < perPartition[p]!) return false;
    }
    return true;
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) (this.reached(w.ends) ? w.resolve() : still.push(w));
    this.waiters = still;
  }

  /**
   * Resolves once every command the log held when it was called is applied (and its listeners
   * settled). Rejects if the end offsets cannot be read (the log down): a retryable error.
   */
  async caughtUp(): Promise<void> {
    if (this.closed) throw new AlphaError("LOG_CLOSED", "the control reader is closed");
    const ends = new Map<string, number[]>();
    await Promise.all(this.topics.map(async (t) => ends.set(t, await this.log.endOffsets(t))));
    if (this.reached(ends)) return;
    await new Promise<void>((resolve, reject) => this.waiters.push({ ends, resolve, reject }));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    for (const w of this.waiters) w.reject(new AlphaError("LOG_CLOSED", "the control reader closed before it caught up"));
    this.waiters = [];
    await this.consumer?.close().catch(() => {});
  }
}
