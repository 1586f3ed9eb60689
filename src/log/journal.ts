/**
 * The in-process log's journal: what the embedded log acknowledged, kept in files so a kill -9
 * loses nothing acknowledged. `MemoryBroker` writes each produced message (of the journaled
 * topics) and each consumer-group commit here before it acknowledges the produce or takes the
 * commit; at start it rebuilds its partitions and groups from what the journal read.
 *
 * Files: `<dir>/<seq>.jsonl`, one record per line, appended with plain writes and no fsync, as
 * PGlite on disk is: the OS page cache survives a kill -9 (not a power cut). A last line cut by a
 * crash mid-write is ignored; a bad line anywhere else stops the start, naming the file and line.
 * The journal is kept small by compaction: a new segment starts with a snapshot of what is still
 * needed (written by the broker), then the older segments are deleted. Replaying an older segment
 * and a snapshot together gives the same state, so a crash at any point of a compaction is safe.
 *
 * Records (JSON arrays):
 * - `["m", topic, partition, offset, timestamp, key, headers, base64 value]` a message;
 * - `["c", group, topic, partition, next]` a group's committed offset;
 * - `["j", group, topic]` a group reads the topic (kept even before its first commit);
 * - `["e", topic, partition, end]` the partition's next offset (its messages may all be gone).
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { AlphaError } from "../errors.ts";
import type { Headers, LogMessage } from "./port.ts";

export interface JournalOptions {
  /** The folder of the segment files (made if missing), e.g. DATA_DIR/log. */
  dir: string;
  /** Which topics are journaled (default all); src/topics.ts's `journaled` reads the topic table. */
  journaled?: (topic: string) => boolean;
  /** A segment larger than this is compacted into a new one (default 64 MiB). */
  segmentBytes?: number;
}

/** A partition as the journal read it. */
export interface RecoveredPartition {
  /** The next offset the partition gives out. */
  end: number;
  messages: Map<number, LogMessage>;
}

/** A consumer group as the journal read it. */
export interface RecoveredGroup {
  reads: Set<string>;
  /** "topic/partition" → next offset to read. */
  committed: Map<string, number>;
}

/** Everything the journal held at open. */
export interface Recovered {
  /** topic → partition → what it held. */
  topics: Map<string, Map<number, RecoveredPartition>>;
  groups: Map<string, RecoveredGroup>;
}

/** Where the journal lives in a data directory (beside the database, DATA_DIR/pg). */
export const journalDir = (dataDir: string): string => join(dataDir, "log");

const SEGMENT = /^(\d{10})\.jsonl$/;
const segmentName = (seq: number) => `${String(seq).padStart(10, "0")}.jsonl`;

/**
 * @example
 * const journal = Journal.open({ dir: "/srv/alpha/.alpha-panda/log", journaled });
 * const log = new MemoryLog(new MemoryBroker({ journal }));
 */
export class Journal {
  readonly dir: string;
  readonly segmentBytes: number;
  /** What the files held when opened; the broker takes it over at start. */
  readonly recovered: Recovered;
  private readonly isJournaled: (topic: string) => boolean;
  private readonly decided = new Map<string, boolean>();
  private seq: number;
  private fd: number;
  /** Bytes in the current segment. */
  private size = 0;
  /** The size at which the current segment is compacted. */
  private rollAt: number;
  private lines: string[] = [];
  private closed = false;

  private constructor(options: JournalOptions, recovered: Recovered, lastSeq: number) {
    this.dir = options.dir;
    this.segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.isJournaled = options.journaled ?? (() => true);
    this.recovered = recovered;
    this.rollAt = this.segmentBytes;
    // Appends never go to a segment a crash may have cut: each start writes a new one.
    this.seq = lastSeq + 1;
    this.fd = openSync(join(this.dir, segmentName(this.seq)), "a");
  }

  /** Reads every segment of `dir` (made if missing) and opens a new one for appends. */
  static open(options: JournalOptions): Journal {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    const seqs = segments(options.dir);
    const recovered: Recovered = { topics: new Map(), groups: new Map() };
    for (const seq of seqs) replay(join(options.dir, segmentName(seq)), recovered);
    return new Journal(options, recovered, seqs.at(-1) ?? 0);
  }

  /** Whether messages and commits of this topic are journaled. */
  journals(topic: string): boolean {
    let yes = this.decided.get(topic);
    if (yes === undefined) this.decided.set(topic, (yes = this.isJournaled(topic)));
    return yes;
  }

  message(m: LogMessage): void {
    const v = Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength).toString("base64");
    this.lines.push(JSON.stringify(["m", m.topic, m.partition, m.offset, m.timestamp, m.key, m.headers, v]));
  }

  commit(group: string, topic: string, partition: number, next: number): void {
    this.lines.push(JSON.stringify(["c", group, topic, partition, next]));
  }

  reads(group: string, topic: string): void {
    this.lines.push(JSON.stringify(["j", group, topic]));
  }

  end(topic: string, partition: number, end: number): void {
    this.lines.push(JSON.stringify(["e", topic, partition, end]));
  }

  /**
   * Writes the records given since the last flush to the OS (not fsync'd). True when the segment
   * has grown past its size and the owner should `compact`.
   */
  flush(): boolean {
    if (this.lines.length === 0) return false;
    if (this.closed) throw new AlphaError("LOG_CLOSED", `the log journal ${this.dir} is closed`);
    const text = this.lines.join("\n") + "\n";
    this.lines = [];
    try {
      this.size += writeAll(this.fd, text);
    } catch (err) {
      // A disk full or failing: the records are refused (the produce or commit fails and is
      // retried), and a part written is cut off, so no damaged line sits before later ones.
      try {
        ftruncateSync(this.fd, this.size);
      } catch {}
      throw new AlphaError("LOG_UNAVAILABLE", `could not write the log journal in ${this.dir}: ${(err as Error).message}`, { canRetry: true, cause: err });
    }
    return this.size >= this.rollAt;
  }

  /**
   * Starts a new segment holding what `snapshot` writes (with the methods above), then deletes the
   * older segments. The snapshot is written under a temporary name and renamed, so a segment file
   * is never a half-written snapshot.
   */
  compact(snapshot: () => void): void {
    this.flush();
    const next = this.seq + 1;
    const tmp = join(this.dir, `${segmentName(next)}.tmp`);
    // Appending (as the segments are opened), so a write cut off by ftruncate goes on at the end.
    const fd = openSync(tmp, "a");
    let size = 0;
    try {
      snapshot();
      size = this.lines.length === 0 ? 0 : writeAll(fd, this.lines.join("\n") + "\n");
    } catch (err) {
      closeSync(fd);
      unlinkSync(tmp);
      throw new AlphaError("LOG_UNAVAILABLE", `could not compact the log journal in ${this.dir}: ${(err as Error).message}`, { canRetry: true, cause: err });
    } finally {
      this.lines = [];
    }
    renameSync(tmp, join(this.dir, segmentName(next)));
    closeSync(this.fd);
    this.fd = fd;
    this.seq = next;
    this.size = size;
    // A snapshot larger than a segment would otherwise be compacted again on every write.
    this.rollAt = Math.max(this.segmentBytes, 2 * size);
    for (const seq of segments(this.dir)) if (seq < next) unlinkSync(join(this.dir, segmentName(seq)));
  }

  /** The segment files, oldest first (for tests and operators). */
  files(): string[] {
    return segments(this.dir).map((s) => join(this.dir, segmentName(s)));
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    closeSync(this.fd);
  }
}

function segments(dir: string): number[] {
  const seqs: number[] = [];
  for (const name of readdirSync(dir)) {
    const m = SEGMENT.exec(name);
    if (m) seqs.push(Number(m[1]));
    // A temporary snapshot left by a crash is never renamed into place: the segments before it hold everything.
    else if (name.endsWith(".jsonl.tmp")) unlinkSync(join(dir, name));
  }
  return seqs.sort((a, b) => a - b);
}

function writeAll(fd: number, text: string): number {
  const bytes = Buffer.from(text);
  let at = 0;
  while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
  return bytes.length;
}

/** Applies a segment's records to `into`. Replaying a record twice changes nothing. */
function replay(file: string, into: Recovered): void {
  const lines = readFileSync(file, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    let r: unknown[];
    try {
      r = JSON.parse(line) as unknown[];
      if (!Array.isArray(r)) throw new Error("not a record");
    } catch (err) {
      // The last line, cut by a crash mid-write, was never acknowledged.
      if (i === lines.length - 1) return;
      throw new AlphaError("LOG_UNAVAILABLE", `the log journal ${file} is damaged at line ${i + 1} (${(err as Error).message}); move the folder aside to start with an empty log`);
    }
    apply(r, into, file, i + 1);
  }
}

function partitionOf(into: Recovered, topic: string, partition: number): RecoveredPartition {
  let t = into.topics.get(topic);
  if (!t) into.topics.set(topic, (t = new Map()));
  let p = t.get(partition);
  if (!p) t.set(partition, (p = { end: 0, messages: new Map() }));
  return p;
}

function groupOf(into: Recovered, group: string): RecoveredGroup {
  let g = into.groups.get(group);
  if (!g) into.groups.set(group, (g = { reads: new Set(), committed: new Map() }));
  return g;
}

function apply(r: unknown[], into: Recovered, file: string, line: number): void {
  switch (r[0]) {
    case "m": {
      const [, topic, partition, offset, timestamp, key, headers, value] = r as [string, string, number, number, number, string, Headers, string];
      const p = partitionOf(into, topic, partition);
      const bytes = Buffer.from(value, "base64");
      p.messages.set(offset, { topic, partition, offset, key, headers, timestamp, value: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
      p.end = Math.max(p.end, offset + 1);
      return;
    }
    case "c": {
      const [, group, topic, partition, next] = r as [string, string, string, number, number];
      const g = groupOf(into, group);
      const key = `${topic}/${partition}`;
      g.committed.set(key, Math.max(g.committed.get(key) ?? 0, next));
      return;
    }
    case "j": {
      const [, group, topic] = r as [string, string, string];
      groupOf(into, group).reads.add(topic);
      return;
    }
    case "e": {
      const [, topic, partition, end] = r as [string, string, number, number];
      const p = partitionOf(into, topic, partition);
      p.end = Math.max(p.end, end);
      return;
    }
    default:
      throw new AlphaError("LOG_UNAVAILABLE", `the log journal ${file} has an unknown record at line ${line}; move the folder aside to start with an empty log`);
  }
}
