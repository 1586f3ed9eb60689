/**
 * Conflation's rule, in one place: in a batch, a message of a conflatable topic is superseded when
 * another of its topic and key follows it before any message of a topic that is not conflatable.
 * Keyless messages are never superseded. Used by the stream processor (which also asks the stage's
 * `when`) and by the bridge, which leaves superseded messages on the main thread.
 *
 * @example
 * superseded(batch, new Set(["market.ticks"])); // 1 where a later tick of the same instrument follows
 */
import type { LogMessage } from "./port.ts";

export function superseded(batch: readonly LogMessage[], conflatable: ReadonlySet<string>): Uint8Array {
  const out = new Uint8Array(batch.length);
  const later = new Map<string, Set<string>>();
  for (let i = batch.length - 1; i >= 0; i--) {
    const m = batch[i]!;
    if (!conflatable.has(m.topic)) {
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
