/**
 * The embedded database's data directory (DATA_DIR): PGlite's files in `pg/`, and a lock file
 * that lets one process at a time open them. PGlite takes no lock of its own (its postmaster.pid
 * holds a fixed placeholder), and two PostgreSQL engines writing one folder corrupt it.
 *
 * The lock file holds its owner's pid and, on Linux, the process's start time (from /proc). A lock
 * whose process is gone (a kill -9, a power cut) is stale and taken over, so a crash never blocks
 * the next start; PostgreSQL's own recovery then replays the write-ahead log. The start time tells
 * a pid used again by another process (after a reboot, say) from the owner.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors.ts";

/** The lock file's name inside the data directory. */
export const LOCK_FILE = "gateway.lock";

/** Where PGlite keeps its database inside the data directory. */
export const pgDir = (dataDir: string) => join(dataDir, "pg");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined off Linux. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The fields after the command name, which is in parentheses and may hold spaces: state is field 3.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[22 - 3];
  } catch {
    return undefined;
  }
}

function holder(path: string): { pid: number; started?: string } | undefined {
  try {
    const [p, started] = readFileSync(path, "utf8").trim().split(/\s+/);
    const pid = Number.parseInt(p ?? "", 10);
    return Number.isSafeInteger(pid) && pid > 0 ? { pid, started: started || undefined } : undefined;
  } catch {
    return undefined; // gone meanwhile, or half-written by a process that died
  }
}

/** Whether the lock's process still runs: the pid is alive and, where both are known, started when the lock says. */
function holds(h: { pid: number; started?: string }): boolean {
  if (!alive(h.pid)) return false;
  const now = startTime(h.pid);
  return h.started === undefined || now === undefined || now === h.started;
}

/**
 * Creates the data directory if needed (mode 700: it holds every API key's hash and the ledger)
 * and takes its lock, or throws a ConfigError naming the process that holds it. Returns the
 * release, which removes the lock only while it is still this process's.
 *
 * @example
 * const release = lockDataDir("/srv/alpha/.alpha-panda");
 * // ... PGlite on pgDir(dir) ...
 * release();
 */
export function lockDataDir(dataDir: string): () => void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new ConfigError([{ path: "DATA_DIR", message: `cannot make the folder ${dataDir}: ${(err as Error).message}` }]);
  }
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new ConfigError([{ path: "DATA_DIR", message: `cannot write the lock file ${path}: ${(err as Error).message}` }]);
      }
      const h = holder(path);
      if (h !== undefined && holds(h)) {
        const pid = h.pid;
        throw new ConfigError([
          {
            path: "DATA_DIR",
            message: `${dataDir} is in use by another process (pid ${pid}${pid === process.pid ? ", this one" : ""}): one gateway at a time opens a data directory. Stop it, or set DATA_DIR to another folder (if no such process is a gateway, delete ${path})`,
          },
        ]);
      }
      // Stale: its process is gone. (A lock file with no pid yet is one a process died writing.)
      try {
        unlinkSync(path);
      } catch {}
      continue;
    }
    try {
      writeSync(fd, `${process.pid} ${startTime(process.pid) ?? ""}\n`);
    } finally {
      closeSync(fd);
    }
    return () => {
      const h = holder(path);
      if (h?.pid !== process.pid || h.started !== (startTime(process.pid) || undefined)) return;
      try {
        unlinkSync(path);
      } catch {}
    };
  }
  throw new ConfigError([{ path: "DATA_DIR", message: `could not take the lock ${path}: other processes keep taking it` }]);
}
