/**
 * Conflation, the stream processor's policy: on the inputs a stage declares conflatable (market
 * ticks, for a stage that only needs an instrument's latest price), a message followed in the same
 * batch by another of the same topic and key, with no message of another input between them, is
 * superseded: it is not decoded or handled when the stage's `mayConflate(key)` agrees at that point
 * of the batch, and counts as handled and as conflated. Every other input sees exactly the state it
 * would have seen. The log port knows nothing of it; the worker's bridge may apply the same rule
 * on the main thread (`dropSuperseded`, `openConsumer`) so superseded ticks never cross over.
 *
 * Only ticks conflate, and a skipped message is never decoded, so only messages whose bytes show a
 * tick envelope (`{"id":"<uuid>","type":"market.tick"`, encodeEnvelope's field order) take part:
 * anything else on a conflatable topic is a barrier like a message of another topic, and reaches
 * the handler, which sends a wrong type to the DLQ. Keyless messages are never superseded.
 *
 * @example
 * const policy = new ConflationPolicy({ topics: ["market.ticks"] });
 * policy.supersededIn(batch); // 1 where a later tick of the same instrument follows
 */
import { RemoteLog } from "../log/bridge/index.ts";
import type { Consumer, ConsumerOptions, Log, LogMessage } from "../log/port.ts";

/** What a stage declares: which inputs conflate, and where it refuses to now. */
export interface Conflation {
  topics: readonly string[];
  /** Whether a superseded message of this key may be skipped now (default: always). */
  mayConflate?: (key: string) => boolean;
  /**
   * With `mayConflate`: the keys it refuses now (every other key's answer must be true). The
   * bridge may then leave out the other keys' superseded messages before the batch crosses, and
   * `mayConflate` decides the rest.
   */
  keysNotConflated?: () => Iterable<string>;
}

const ID_AT = new TextEncoder().encode('{"id":"');
/** Where the type follows a 36-character id. */
const TYPE_OFFSET = ID_AT.length + 36;
const TICK_TYPE = new TextEncoder().encode('","type":"market.tick"');

/** Whether the bytes begin as encodeEnvelope writes a market.tick. */
export function looksLikeTick(value: Uint8Array): boolean {
  if (value.length < TYPE_OFFSET + TICK_TYPE.length) return false;
  for (let i = 0; i < ID_AT.length; i++) if (value[i] !== ID_AT[i]) return false;
  for (let i = 0; i < TICK_TYPE.length; i++) if (value[TYPE_OFFSET + i] !== TICK_TYPE[i]) return false;
  return true;
}

/** Per message of the batch, 1 where it is superseded (the rule at the top of this file). */
export function superseded(batch: readonly LogMessage[], conflatable: ReadonlySet<string>): Uint8Array {
  const out = new Uint8Array(batch.length);
  const laterKeys = new Map<string, Set<string>>();
  for (let i = batch.length - 1; i >= 0; i--) {
    const m = batch[i]!;
    if (!conflatable.has(m.topic) || !looksLikeTick(m.value)) {
      laterKeys.clear();
      continue;
    }
    if (m.key === "") continue;
    let keys = laterKeys.get(m.topic);
    if (!keys) laterKeys.set(m.topic, (keys = new Set()));
    if (keys.has(m.key)) out[i] = 1;
    else keys.add(m.key);
  }
  return out;
}

/** The same rule for a run of ticks known as such (the backtest's, which keeps no bytes): by key alone. */
export function supersededKeys(keys: readonly string[]): Uint8Array {
  const out = new Uint8Array(keys.length);
  const later = new Set<string>();
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i]!;
    if (key === "") continue;
    if (later.has(key)) out[i] = 1;
    else later.add(key);
  }
  return out;
}

/**
 * A batch without its superseded messages, and how many were left out per topic: what the bridge
 * may do on the main thread (`serveLog`'s `thin`). `keptKeys` (the stage's keysNotConflated, as
 * the worker last reported them) keep every message, and so does everything after the batch's
 * first message of a topic that does not conflate: it may change which keys those are.
 */
export function dropSuperseded(
  batch: readonly LogMessage[],
  conflatable: ReadonlySet<string>,
  keptKeys?: ReadonlySet<string>,
): { batch: readonly LogMessage[]; leftOut?: Record<string, number> } {
  const mask = superseded(batch, conflatable);
  if (keptKeys) {
    let i = 0;
    for (; i < batch.length && conflatable.has(batch[i]!.topic); i++) if (mask[i] && keptKeys.has(batch[i]!.key)) mask[i] = 0;
    mask.fill(0, i);
  }
  if (!mask.includes(1)) return { batch };
  const kept: LogMessage[] = [];
  const leftOut: Record<string, number> = {};
  for (let i = 0; i < batch.length; i++) {
    const m = batch[i]!;
    if (mask[i]) leftOut[m.topic] = (leftOut[m.topic] ?? 0) + 1;
    else kept.push(m);
  }
  return { batch: kept, leftOut };
}

/** A stage's conflation as the processor (and the backtest) apply it. */
export class ConflationPolicy {
  readonly topics: ReadonlySet<string>;
  private readonly mayConflate: ((key: string) => boolean) | undefined;

  constructor(readonly declared: Conflation | undefined) {
    this.topics = new Set(declared?.topics ?? []);
    this.mayConflate = declared?.mayConflate;
  }

  get active(): boolean {
    return this.topics.size > 0;
  }

  /** Per message, 1 where it is superseded; undefined when the stage conflates nothing. */
  supersededIn(batch: readonly LogMessage[]): Uint8Array | undefined {
    return this.topics.size > 0 ? superseded(batch, this.topics) : undefined;
  }

  /** Whether a superseded message of `key` is skipped now (asked when the batch reaches it). */
  skips(key: string): boolean {
    return !this.mayConflate || this.mayConflate(key);
  }

  /** Whether the stage decides key by key and refuses `key` now (it must see that tick at once). */
  refuses(key: string): boolean {
    return this.mayConflate !== undefined && !this.mayConflate(key);
  }

  /**
   * A consumer of `log` for this stage: the worker's view of the in-process log is asked to leave
   * superseded messages on the main thread (`onLeftOut` counts them once their batch is handled),
   * unless the stage decides key by key without naming the keys it refuses (the main thread does
   * not see the stage's state). Any other log hands over every message.
   */
  openConsumer(log: Log, options: ConsumerOptions, onLeftOut: (counts: Readonly<Record<string, number>>) => void): Consumer {
    const declared = this.declared;
    if (!(log instanceof RemoteLog) || !declared || !this.active || (declared.mayConflate && !declared.keysNotConflated)) return log.consumer(options);
    return log.consumer(options, {
      topics: [...this.topics],
      keptKeys: declared.mayConflate ? declared.keysNotConflated : undefined,
      leftOut: (counts) => counts && onLeftOut(counts),
    });
  }
}
