/**
 * The pipeline's stages: what each consumes, under which consumer group. One group per stage, so
 * several gateway processes split a stage's partitions between them; the broker of a message is
 * read from its topic.
 */
import type { Broker } from "../config.ts";
import { topicName } from "../topics.ts";

export const STAGE_NAMES = ["strategy", "risk", "execution", "portfolio"] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export interface StageDef {
  name: StageName;
  /** The consumer group: the same in every gateway process. */
  groupId: string;
  inputs(brokers: readonly Broker[]): string[];
}

export const STAGES: Record<StageName, StageDef> = {
  strategy: { name: "strategy", groupId: "alpha-panda.strategy", inputs: () => [topicName("marketTicks")] },
  risk: { name: "risk", groupId: "alpha-panda.risk", inputs: (bs) => bs.map((b) => topicName("signalsRaw", b)) },
  execution: { name: "execution", groupId: "alpha-panda.execution", inputs: (bs) => bs.map((b) => topicName("signalsValidated", b)) },
  portfolio: {
    name: "portfolio",
    groupId: "alpha-panda.portfolio",
    inputs: (bs) => [topicName("marketTicks"), ...bs.map((b) => topicName("ordersFilled", b))],
  },
};
