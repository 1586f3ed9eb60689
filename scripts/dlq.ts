/**
 * `bun run dlq`: the dead-letter queues on Kafka (KAFKA_BROKERS).
 *
 *   bun run dlq list                              each DLQ topic and how many messages it holds
 *   bun run dlq show <topic> [--limit N]          its dead letters: reason, stage, origin, the event
 *   bun run dlq replay <topic> [--ids a,b,…]      writes each (or those named) back to its topic
 *
 * <topic> is the DLQ (`paper.signals.raw.dlq`) or the topic it belongs to (`paper.signals.raw`).
 * --ids takes envelope ids, or `<partition>/<offset>` of the DLQ for a message that is not an
 * envelope. A replay keeps the envelope id: a stage that handled the event skips the copy, the one
 * that dead-lettered it handles it once (src/stage/replay.ts), so replaying twice changes nothing
 * more downstream. The DLQ keeps what it holds (retention: a week). The embedded gateway's DLQ
 * depths are in GET /api/v1/pipeline.
 *
 * @example
 * KAFKA_BROKERS=127.0.0.1:19092 bun run dlq show paper.signals.raw --limit 5
 */
import { loadConfig } from "../src/config.ts";
import { KafkaLog } from "../src/log/kafka.ts";
import { REPLAY_HEADER } from "../src/stage/replay.ts";
import { originalHeaders, readDeadLetters, type DeadLetter } from "./lib/dead-letters.ts";

const USAGE = "usage: bun run dlq list | show <topic> [--limit N] | replay <topic> [--ids id,…]";
const out = (line = "") => process.stdout.write(`${line}\n`);

class UsageError extends Error {}

interface Args {
  command: string;
  topic?: string;
  limit: number;
  ids?: string[];
}

function parseArgs(argv: string[]): Args {
  const [command = "", ...rest] = argv;
  const args: Args = { command, limit: 20 };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === "--limit") {
      const n = Number(rest[++i]);
      if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--limit takes a whole number from 1, got ${JSON.stringify(rest[i] ?? "")}`);
      args.limit = n;
    } else if (a === "--ids") {
      args.ids = (rest[++i] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
      if (args.ids.length === 0) throw new UsageError("--ids takes a comma-separated list of event ids (or <partition>/<offset>)");
    } else if (a.startsWith("--")) throw new UsageError(`unknown option ${a}`);
    else if (args.topic === undefined) args.topic = a.endsWith(".dlq") ? a : `${a}.dlq`;
    else throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
  }
  if (!["list", "show", "replay"].includes(command)) throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : "name a command");
  if (command !== "list" && !args.topic) throw new UsageError(`${command} needs a DLQ topic`);
  return args;
}

async function list(log: KafkaLog): Promise<void> {
  const topics = (await log.listTopics()).map((t) => t.name).filter((n) => n.endsWith(".dlq")).sort();
  const ranges = await log.offsetRanges(topics);
  const rows = topics.map((t) => [t, String((ranges.get(t) ?? []).reduce((n, r) => n + r.end - r.start, 0))]);
  const width = Math.max(9, ...rows.map(([t]) => t!.length));
  out(`${"DLQ topic".padEnd(width)}  depth`);
  for (const [t, depth] of rows) out(`${t!.padEnd(width)}  ${depth}`);
  const total = rows.reduce((n, [, d]) => n + Number(d), 0);
  out(`${total} dead letter${total === 1 ? "" : "s"} in ${rows.length} DLQ${rows.length === 1 ? "" : "s"}`);
}

function describe(topic: string, d: DeadLetter): string[] {
  const text = new TextDecoder().decode(d.message.value);
  let event = text;
  try {
    event = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // Not JSON: shown as it is.
  }
  return [
    `${topic} ${d.at}  dead-lettered ${d.deadAt} by ${d.stage} after ${d.attempts} attempt${d.attempts === "1" ? "" : "s"}`,
    `  reason: [${d.code}] ${d.reason}`,
    `  from:   ${d.source ? `${d.source.topic} partition ${d.source.partition} offset ${d.source.offset}` : "(unknown: no x-dlq-source-topic header)"}`,
    `  event:  ${d.id ? `${d.type ?? "?"} ${d.id}` : "(not an envelope)"}  key ${d.message.key}`,
    ...event.split("\n").map((l) => `    ${l}`),
  ];
}

async function show(log: KafkaLog, brokers: string[], topic: string, limit: number): Promise<void> {
  const letters = await readDeadLetters(log, brokers, topic);
  if (letters.length === 0) {
    out(`${topic} holds no dead letters`);
    return;
  }
  for (const d of letters.slice(0, limit)) out(describe(topic, d).join("\n"));
  if (letters.length > limit) out(`… ${letters.length - limit} more (--limit ${letters.length} shows them all)`);
}

/** A progress bar on stderr: the count and a bar of 30. */
function progress(done: number, total: number): void {
  const filled = Math.round((done / total) * 30);
  process.stderr.write(`\rreplaying [${"#".repeat(filled)}${"-".repeat(30 - filled)}] ${done}/${total}${done === total ? "\n" : ""}`);
}

async function replay(log: KafkaLog, brokers: string[], topic: string, ids?: string[]): Promise<number> {
  const letters = await readDeadLetters(log, brokers, topic);
  const chosen = ids ? letters.filter((d) => ids.includes(d.id ?? "") || ids.includes(d.at)) : letters;
  if (ids) {
    const missing = ids.filter((id) => !letters.some((d) => d.id === id || d.at === id));
    if (missing.length > 0) {
      console.error(`dlq: ${topic} holds no dead letter ${missing.join(", ")}; nothing replayed`);
      return 1;
    }
  }
  const orphans = chosen.filter((d) => !d.source);
  if (orphans.length > 0) {
    console.error(`dlq: ${orphans.map((d) => d.at).join(", ")} of ${topic} do not say which topic they came from (no x-dlq-source-topic); nothing replayed`);
    return 1;
  }
  if (chosen.length === 0) {
    out(`${topic} holds no dead letters: nothing to replay`);
    return 0;
  }
  const producer = log.producer({ clientId: "alpha-panda-dlq-tool" });
  try {
    progress(0, chosen.length);
    for (const [i, d] of chosen.entries()) {
      // Same key (same partition, in order with its kind), same bytes and id; the replay header says where it came from.
      const headers = { ...originalHeaders(d.message.headers), [REPLAY_HEADER]: `${topic}/${d.at}` };
      await producer.send([{ topic: d.source!.topic, key: d.message.key, value: d.message.value, headers }]);
      progress(i + 1, chosen.length);
    }
  } finally {
    await producer.close();
  }
  const to = [...new Set(chosen.map((d) => d.source!.topic))].join(", ");
  out(`replayed ${chosen.length} dead letter${chosen.length === 1 ? "" : "s"} of ${topic} to ${to}; each keeps its event id, so a stage handles it at most once more`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`dlq: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (!process.env.KAFKA_BROKERS?.trim()) {
    console.error("dlq: KAFKA_BROKERS is not set; the DLQ tool reads Kafka (e.g. KAFKA_BROKERS=127.0.0.1:19092). The embedded gateway shows its DLQ depths at GET /api/v1/pipeline.");
    return 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    console.error(`dlq: ${(err as Error).message}`);
    return 2;
  }
  const { brokers, clientId } = config.kafka!;
  const log = new KafkaLog({ brokers, clientId: `${clientId}-dlq-tool` });
  try {
    if (args.command === "list") await list(log);
    else if (args.command === "show") await show(log, brokers, args.topic!, args.limit);
    else return await replay(log, brokers, args.topic!, args.ids);
    return 0;
  } catch (err) {
    console.error(`dlq: ${(err as Error).message}`);
    return 1;
  } finally {
    await log.close();
  }
}

process.exit(await main(process.argv.slice(2)));
