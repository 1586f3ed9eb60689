/**
 * The processes the bench starts (gateways, load generators, Kafka's tools), so that when the
 * bench itself is stopped (SIGINT or SIGTERM sent to it alone: `kill`, `timeout`, a CI job
 * cancelled) they stop with it instead of running on under init. Ctrl-C in a terminal signals
 * the whole process group anyway.
 */
import type { Subprocess } from "bun";

const live = new Map<Subprocess, NodeJS.Signals>();

/** Keeps `proc` until it exits; `signal` is how it is asked to stop (a gateway: SIGINT, to drain). */
export function track<T extends Subprocess>(proc: T, signal: NodeJS.Signals = "SIGTERM"): T {
  live.set(proc, signal);
  void proc.exited.then(() => live.delete(proc));
  return proc;
}

/** Asks every live child to stop, waits up to `graceMs` for them, then kills what is left. */
export async function stopChildren(graceMs = 10_000): Promise<void> {
  const procs = [...live.keys()];
  for (const [p, signal] of live) p.kill(signal);
  await Promise.race([Promise.all(procs.map((p) => p.exited)), Bun.sleep(graceMs)]);
  for (const p of live.keys()) p.kill("SIGKILL");
}
