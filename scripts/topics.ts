/**
 * `bun run topics`: creates every topic of the topic table (src/topics.ts), and its DLQ, for the
 * ACTIVE_BROKERS on the Kafka or Redpanda at KAFKA_BROKERS. Idempotent: a topic that exists is left
 * as it is and reported as existing, so running it twice in a row is fine.
 *
 * @example
 * KAFKA_BROKERS=127.0.0.1:19092 ACTIVE_BROKERS=paper,zerodha bun run topics
 */
import { loadConfig } from "../src/config.ts";
import { AlphaError } from "../src/errors.ts";
import { KafkaLog } from "../src/log/kafka.ts";
import type { TopicSpec } from "../src/log/port.ts";
import { allTopics, topicSpecs } from "../src/topics.ts";
import { OPENALGO_CARRIES, openAlgoTopicSpecs } from "../src/openalgo-events/topics.ts";

function retention(ms: number): string {
  if (ms < 0) return "forever";
  const units: Array<[number, string]> = [[86_400_000, "d"], [3_600_000, "h"], [60_000, "m"], [1_000, "s"]];
  for (const [size, unit] of units) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

async function main(): Promise<number> {
  if (!process.env.KAFKA_BROKERS?.trim()) {
    console.error("topics: KAFKA_BROKERS is not set; set it to the cluster's host:port list, e.g. KAFKA_BROKERS=127.0.0.1:19092 (what `bun run infra:up` starts)");
    return 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    console.error(`topics: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  const kafka = config.kafka!;
  const rowsOfTable = allTopics(config.activeBrokers);
  const specs: TopicSpec[] = [...topicSpecs(config.activeBrokers), ...openAlgoTopicSpecs(config.openAlgo)];
  // What each topic carries, from the table; a DLQ carries whatever its topic refused.
  const carries = new Map(rowsOfTable.flatMap((r) => [[r.name, r.carries.join(", ")], [r.dlq.name, `dead letters of ${r.name}`]] as Array<[string, string]>));
  for (const s of openAlgoTopicSpecs(config.openAlgo)) carries.set(s.name, s.name.endsWith(".dlq") ? `dead letters of ${s.name.slice(0, -4)}` : OPENALGO_CARRIES);
  const log = new KafkaLog({ brokers: kafka.brokers, clientId: `${kafka.clientId}-topics` });
  try {
    const { created } = await log.createTopics(specs);
    const actual = new Map((await log.listTopics()).map((t) => [t.name, t.partitions]));
    const fresh = new Set(created);
    const rows = specs.map((s) => {
      const has = actual.get(s.name);
      // An existing topic keeps its partitions: Kafka never shrinks a topic, and growing one moves keys.
      const note = has !== undefined && has !== s.partitions ? ` (has ${has}, table says ${s.partitions})` : "";
      return [s.name, String(has ?? s.partitions), retention(s.retentionMs) + (s.compact ? ", compacted" : ""), carries.get(s.name) ?? "", (fresh.has(s.name) ? "created" : "exists") + note];
    });
    console.log(`Kafka ${kafka.brokers.join(",")}, brokers ${config.activeBrokers.join(",")}: ${created.length} created, ${specs.length - created.length} existing`);
    console.log(table(["topic", "partitions", "retention", "carries", "status"], rows));
    return 0;
  } catch (err) {
    const code = err instanceof AlphaError ? ` [${err.code}]` : "";
    console.error(`topics: ${err instanceof Error ? err.message : String(err)}${code}`);
    return 1;
  } finally {
    await log.close();
  }
}

process.exitCode = await main();
