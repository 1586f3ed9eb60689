/**
 * The stages' consumer groups on Kafka carry the process's broker set:
 * `alpha-panda.<stage>.<broker>[+<broker>]` (e.g. `alpha-panda.risk.paper+zerodha`). Processes with
 * the same brokers share a group and split its partitions; processes with other brokers are in
 * other groups, so none is handed partitions of a broker it does not run, and each group reads
 * the shared market.ticks whole. The in-process log serves one process per data directory: its
 * groups are the stage's own (`alpha-panda.<stage>`). Why this and not a broker-aware assignor:
 * docs/design.md, "Consumer groups".
 *
 * Two groups whose broker sets overlap would both act on the common broker's orders, so a start
 * beside a running overlapping group is refused (after waiting out a killed member's session). A
 * group with no member starts where the furthest group of its stage got on each partition it
 * reads, so a change of topology (or an upgrade from groups without brokers) neither replays what
 * was handled nor skips what was not.
 */
import { BROKERS, type Broker } from "../config.ts";
import { ConfigError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { CommittedOffset, GroupInfo, Log } from "../log/port.ts";
import { brokerOfTopic } from "../topics.ts";

const SEPARATOR = "+";

/** The canonical name of a broker set: sorted, each once, `+` between. */
export const brokerSetName = (brokers: readonly Broker[]): string => [...new Set(brokers)].sort().join(SEPARATOR);

/** The group a stage (its base group id, e.g. `alpha-panda.risk`) joins with these brokers. */
export function stageGroupId(base: string, brokers: readonly Broker[], onKafka: boolean): string {
  return onKafka ? `${base}.${brokerSetName(brokers)}` : base;
}

/** Which stage a group id belongs to and its brokers (undefined: a group named without them). */
export function parseStageGroup(id: string, bases: readonly string[]): { base: string; brokers?: Broker[] } | undefined {
  for (const base of bases) {
    if (id === base) return { base };
    if (!id.startsWith(`${base}.`)) continue;
    const set = id.slice(base.length + 1);
    const brokers = set.split(SEPARATOR);
    if (brokers.every((b) => (BROKERS as readonly string[]).includes(b)) && brokerSetName(brokers as Broker[]) === set) return { base, brokers: brokers as Broker[] };
  }
  return undefined;
}

export interface StageGroupsOptions {
  log: Log;
  brokers: readonly Broker[];
  /** The stages' base group ids. */
  bases: readonly string[];
  /** How long a running overlapping group may take to empty: a killed member counts until its session times out. */
  waitMs: number;
  logger: Logger;
}

type StageGroup = GroupInfo & { base: string; brokers?: Broker[] };

async function stageGroups(log: Log, bases: readonly string[]): Promise<StageGroup[]> {
  const groups = await log.consumerGroups!("alpha-panda.");
  return groups.flatMap((g) => {
    const parsed = parseStageGroup(g.id, bases);
    return parsed ? [{ ...g, ...parsed }] : [];
  });
}

/** The running groups that would act on one of `brokers` beside ours: another broker set sharing one, or a group named without brokers. */
function overlapping(groups: readonly StageGroup[], brokers: readonly Broker[]): StageGroup[] {
  const ours = brokerSetName(brokers);
  return groups.filter((g) => g.members > 0 && (g.brokers === undefined || (brokerSetName(g.brokers) !== ours && g.brokers.some((b) => brokers.includes(b)))));
}

function refusal(conflicts: readonly StageGroup[], brokers: readonly Broker[]): ConfigError {
  const sets = new Map<string, string[]>();
  for (const g of conflicts) {
    const set = g.brokers ? g.brokers.join(",") : "unknown brokers (a process whose groups do not name them)";
    sets.set(set, [...(sets.get(set) ?? []), g.id]);
  }
  return new ConfigError(
    [...sets].map(([set, ids]) => ({
      path: "ACTIVE_BROKERS",
      message: `${brokers.join(",")} overlaps processes running ${set} (groups ${ids.join(", ")}): both would act on the same orders. Run every process with the same brokers (they share the work) or each broker in processes of its own, and stop the others first`,
    })),
  );
}

/**
 * Before the stages join: refuses to start beside a running group whose brokers overlap ours, and
 * moves each of our groups that has no member forward to where its stage got.
 *
 * @example
 * await prepareStageGroups({ log, brokers: ["zerodha"], bases: ["alpha-panda.risk"], waitMs: 12_000, logger });
 */
export async function prepareStageGroups(opts: StageGroupsOptions): Promise<void> {
  const { log, brokers, bases, logger } = opts;
  if (!log.consumerGroups || !log.seedOffsets || !log.committedOffsets) return;
  const deadline = Date.now() + opts.waitMs;
  let groups = await stageGroups(log, bases);
  let conflicts = overlapping(groups, brokers);
  if (conflicts.length > 0) logger.warn({ groups: conflicts.map((g) => g.id), wait_ms: opts.waitMs }, "waiting for running groups whose brokers overlap ours to empty (a killed process's session to end)");
  while (conflicts.length > 0) {
    if (Date.now() >= deadline) throw refusal(conflicts, brokers);
    await Bun.sleep(500);
    groups = await stageGroups(log, bases);
    conflicts = overlapping(groups, brokers);
  }
  for (const base of bases) {
    const id = stageGroupId(base, brokers, true);
    const ours = groups.find((g) => g.id === id);
    if (ours && ours.members > 0) continue;
    const others = groups.filter((g) => g.base === base && g.id !== id);
    if (others.length === 0) continue;
    const forward = await furthest(log, id, others, brokers);
    if (forward.length === 0) continue;
    try {
      await log.seedOffsets(id, forward);
      logger.info({ group: id, from: others.map((g) => g.id), partitions: forward.length }, "group starts where its stage got");
    } catch (err) {
      // A process with our brokers joined meanwhile: the group is its, and starts where it is.
      logger.info({ group: id, err: (err as Error).message }, "group has members now; it starts where it is");
    }
  }
}

/**
 * Per partition our stage reads (the shared topics and our brokers'), the furthest offset any
 * group of the stage committed, where it is past ours; never past what the partition holds.
 */
async function furthest(log: Log, id: string, others: readonly StageGroup[], brokers: readonly Broker[]): Promise<CommittedOffset[]> {
  const key = (o: CommittedOffset) => `${o.topic}/${o.partition}`;
  const ours = new Map((await log.committedOffsets!(id)).map((o) => [key(o), o.next]));
  const best = new Map<string, CommittedOffset>();
  for (const g of others) {
    for (const o of await log.committedOffsets!(g.id)) {
      const owner = brokerOfTopic(o.topic);
      if (owner !== "shared" && !brokers.includes(owner)) continue;
      if (o.next > (ours.get(key(o)) ?? -1) && o.next > (best.get(key(o))?.next ?? -1)) best.set(key(o), o);
    }
  }
  if (best.size === 0 || !log.offsetRanges) return [...best.values()];
  const ranges = await log.offsetRanges([...new Set([...best.values()].map((o) => o.topic))]);
  return [...best.values()].flatMap((o) => {
    const range = ranges.get(o.topic)?.[o.partition];
    if (!range) return [];
    const next = Math.min(o.next, range.end);
    return next > (ours.get(key(o)) ?? -1) ? [{ ...o, next }] : [];
  });
}
