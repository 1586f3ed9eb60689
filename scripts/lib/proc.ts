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
