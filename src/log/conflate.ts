/**
 * Conflation's rule, in one place: in a batch, a message of a conflatable topic is superseded when
 * another of its topic and key follows it before any message of a topic that is not conflatable.
 * Keyless messages are never superseded. Used by the stream processor (which also asks the stage's
 * `when`) and by the bridge, which leaves superseded messages on the main thread.
 *
 * Only ticks conflate, and a skipped message is never decoded, so only messages whose bytes show a
 * tick envelope (`{"id":"<uuid>","type":"market.tick"`, encodeEnvelope's field order) take part:
 * anything else on a conflatable topic (another event type, another encoding) is a barrier like a
 * message of another topic, and reaches the handler, which sends a wrong type to the DLQ.
 *
 * @example
 * superseded(batch, new Set(["market.ticks"])); // 1 where a later tick of the same instrument follows
 */
import type { LogMessage } from "./port.ts";

const ID_AT = new TextEncoder().encode('{"id":"');
/** Where the type follows a 36-character id. */
const TYPE_OFFSET = ID_AT.length + 36;
const TICK_TYPE = new TextEncoder().encode('","type":"market.tick"');

/** Whether the bytes begin as encodeEnvelope writes a market.tick. */
export function looksLikeTick(v: Uint8Array): boolean {
  if (v.length < TYPE_OFFSET + TICK_TYPE.length) return false;
  for (let i = 0; i < ID_AT.length; i++) if (v[i] !== ID_AT[i]) return false;
  for (let i = 0; i < TICK_TYPE.length; i++) if (v[TYPE_OFFSET + i] !== TICK_TYPE[i]) return false;
  return true;
}

export function superseded(batch: readonly LogMessage[], conflatable: ReadonlySet<string>): Uint8Array {
  const out = new Uint8Array(batch.length);
  const later = new Map<string, Set<string>>();
  for (let i = batch.length - 1; i >= 0; i--) {
    const m = batch[i]!;
    if (!conflatable.has(m.topic) || !looksLikeTick(m.value)) {
      later.clear();
      continue;
    }
    if (m.key === "") continue;
    let keys = later.get(m.topic);
    if (!keys) later.set(m.topic, (keys = new Set()));
    if (keys.has(m.key)) out[i] = 1;
    else keys.add(m.key);
  }
  return out;
}
