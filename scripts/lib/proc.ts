/**
 * For scripts and tests that drive other processes: their output line by line, and polling.
 */

/**
 * Calls `onLine` with each line of `stream` (UTF-8, without the newline) as it arrives, and
 * `onChunk` after each chunk's lines; resolves when the stream ends.
 *
 * @example
 * void eachLine(proc.stdout, (line) => lines.push(line));
 */
export async function eachLine(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void, onChunk?: () => void): Promise<void> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    onChunk?.();
  }
}

/** A log line as JSON, or `{ raw: line }` when it is not JSON. */
export function jsonLine(line: string): Record<string, unknown> {
  try {
    return JSON.parse(line);
  } catch {
    return { raw: line };
  }
}

/**
 * Polls until `probe` returns something truthy, or fails naming `what` (and the probe's last error).
 *
 * @example
 * await until("the gateway to be ready", async () => (await fetch(url)).ok, 30_000);
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
    await Bun.sleep(everyMs);
  }
}

/** A process's JSON log lines as they arrive, its stderr, and a wait for a line. */
export interface LogLines {
  /** Parsed stdout lines (`{ raw }` when not JSON); the newest `keep` when a limit is given. */
  lines: Array<Record<string, unknown>>;
  stderr(): string;
  /** The first line (kept) that matches, or an error with the last lines and stderr after `timeoutMs`. */
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
}

/**
 * Collects `proc`'s stdout as JSON lines and its stderr, for waiting on what it logs.
 *
 * @example
 * const log = logLines(Bun.spawn(["bun", "gateway/main.ts"], { stdout: "pipe", stderr: "pipe" }));
 * const line = await log.waitFor((l) => l.msg === "gateway listening", 20_000);
 */
export function logLines(proc: { stdout: ReadableStream<Uint8Array>; stderr: ReadableStream<Uint8Array> }, opts: { keep?: number } = {}): LogLines {
  const lines: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let err = "";
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  void eachLine(
    proc.stdout,
    (line) => {
      lines.push(jsonLine(line));
      if (opts.keep !== undefined && lines.length > opts.keep) lines.splice(0, lines.length - opts.keep);
    },
    wake,
  );
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) {
      err += decoder.decode(chunk, { stream: true });
      if (opts.keep !== undefined && err.length > 8_000) err = err.slice(-4_000);
    }
  })();
  const waitFor: LogLines["waitFor"] = (match, timeoutMs) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = lines.find(match);
        if (found) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching log line within ${timeoutMs} ms; last lines:\n${lines.slice(-10).map((l) => JSON.stringify(l)).join("\n")}\nstderr: ${err}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return { lines, stderr: () => err, waitFor };
}
