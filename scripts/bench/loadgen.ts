/**
 * The bench's load generator, run as a process of its own so that the client's work never runs on
 * the event loop it measures. Two modes, each configured by one JSON argument:
 *
 *   bun scripts/bench/loadgen.ts http '{"url":"…","concurrency":64,"durationMs":10000,…}'
 *     A fixed number of keep-alive connections, each a closed loop (send, wait for the answer,
 *     send again) for a fixed duration. Latencies go into an HdrHistogram (µs); the first
 *     `warmupMs` are left out. Prints one JSON line: {@link HttpResult}.
 *
 *   bun scripts/bench/loadgen.ts ws '{"url":"ws://…/ws?api_key=…","count":500,"channel":"orders.paper"}'
 *     Opens `count` WebSocket subscribers to `channel` and prints {"event":"ready"} once every one
 *     is subscribed, then {"event":"progress"} lines. Reads JSON from stdin until EOF: the send time
 *     of each order by correlation id ({"sent":{"<correlation_id>":<ms>}}); then prints
 *     {"event":"result"}: {@link WsResult}, histograms as compressed base64 for the parent to merge.
 *
 * Times are `performance.timeOrigin + performance.now()`: wall-clock milliseconds with sub-ms
 * resolution, comparable between processes on one machine.
 */
import * as hdr from "hdr-histogram-js";
import { eachLine, jsonLine } from "../lib/proc.ts";
import { track } from "./children.ts";

/** What one HTTP load run is told. */
export interface HttpLoad {
  url: string;
  method?: "GET" | "POST" | "PUT";
  headers?: Record<string, string>;
  /** Request bodies, used round robin (one per request). */
  bodies?: string[];
  concurrency: number;
  durationMs: number;
  /** Left out of the numbers (connections opening, JIT warming). Default 1000. */
  warmupMs?: number;
  /**
   * `raw` (default): HTTP/1.1 over Bun.connect, one keep-alive socket per loop, the lightest
   * client we have, so the 2 cores go to the server. `fetch`: Bun's fetch (keep-alive pool).
   */
  client?: "raw" | "fetch";
  /**
   * Open loop: requests start at this fixed rate (per second) whatever the answers take, each on
   * an idle connection (at most `concurrency` of them), so a slow answer delays none after it.
   * Latency runs from the request's start. Raw client only. Without it: closed loops.
   */
  rate?: number;
}

/** Latency percentiles, milliseconds. */
export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  count: number;
}

export interface HttpResult {
  requests: number;
  ok: number;
  errors: number;
  status: Record<string, number>;
  seconds: number;
  rps: number;
  latency_ms: Percentiles;
  /** First error text, if any. */
  first_error?: string;
}

export interface WsLoad {
  url: string;
  count: number;
  channel: string;
  /** Opening the sockets at most this many at a time (default 50). */
  openBatch?: number;
}

export interface WsResult {
  event: "result";
  sockets: number;
  closed: number;
  messages: number;
  /** Pushes of the order events counted (type starts with "order."). */
  order_events: number;
  /** receive − the event envelope's ts, every order event, µs, compressed base64. */
  age_hist: string;
  /** receive − the order's POST send time, first push of each order per socket, µs. */
  e2e_hist: string;
  /** Orders sent that this process saw no push for, summed over sockets. */
  missing: number;
}

export const now = (): number => performance.timeOrigin + performance.now();

/** A histogram of microseconds: 1 µs to 10 min, 3 significant digits. */
export const histogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });

/** Percentiles in ms of a histogram of µs. */
/** Percentiles (ms) of samples in ms. */
export function percentilesOfMs(samples: ArrayLike<number>): Percentiles {
  const h = histogram();
  for (let i = 0; i < samples.length; i++) h.recordValue(Math.max(1, Math.round(samples[i]! * 1000)));
  return percentiles(h);
}

export function percentiles(h: hdr.Histogram): Percentiles {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: Math.round(h.mean) / 1000,
    count: h.totalCount,
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface Tally {
  hist: hdr.Histogram;
  requests: number;
  ok: number;
  errors: number;
  status: Map<number, number>;
  firstError?: string;
}

const countStatus = (t: Tally, status: number) => t.status.set(status, (t.status.get(status) ?? 0) + 1);

/**
 * One keep-alive HTTP/1.1 connection, one request at a time. Parses just enough of the answer:
 * the status line, Content-Length (or chunked encoding) and the end of the body.
 */
class RawConnection {
  private socket: import("bun").Socket<undefined> | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private pending: { resolve: (status: number) => void; reject: (e: Error) => void } | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  private async connect(): Promise<void> {
    this.buf = Buffer.alloc(0);
    this.socket = await Bun.connect({
      hostname: this.host,
      port: this.port,
      socket: {
        data: (_s, chunk) => this.onData(chunk),
        close: () => this.fail(new Error("connection closed")),
        error: (_s, err) => this.fail(err),
      },
    });
    this.socket.setNoDelay(true);
  }

  private fail(err: Error): void {
    this.socket = undefined;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const head = this.buf.indexOf("\r\n\r\n");
    if (head < 0) return;
    const header = this.buf.toString("latin1", 0, head);
    const status = Number(header.slice(9, 12));
    const lower = header.toLowerCase();
    let end: number;
    const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    if (cl) {
      end = head + 4 + Number(cl[1]);
      if (this.buf.length < end) return;
    } else if (lower.includes("transfer-encoding: chunked")) {
      const last = this.buf.indexOf("\r\n0\r\n\r\n", head);
      if (last < 0) return;
      end = last + 7;
    } else {
      end = head + 4;
    }
    this.buf = this.buf.subarray(end);
    const p = this.pending;
    this.pending = undefined;
    p?.resolve(status);
  }

  async request(raw: Uint8Array): Promise<number> {
    if (!this.socket) await this.connect();
    return new Promise<number>((resolve, reject) => {
      this.pending = { resolve, reject };
      const written = this.socket!.write(raw);
      if (written < raw.length) this.socket!.write(raw.subarray(written)); // a tiny request: rare
    });
  }

  close(): void {
    this.socket?.end();
    this.socket = undefined;
  }
}

function rawRequests(load: HttpLoad, url: URL): Uint8Array[] {
  const method = load.method ?? "GET";
  const headers = Object.entries(load.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  const bodies = load.bodies && load.bodies.length > 0 ? load.bodies : [undefined];
  return bodies.map((body) => {
    const bytes = body === undefined ? undefined : Buffer.from(body, "utf8");
    const head =
      `${method} ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: keep-alive\r\n${headers}` +
      (bytes ? `Content-Length: ${bytes.length}\r\n` : "") +
      "\r\n";
    return bytes ? Buffer.concat([Buffer.from(head, "latin1"), bytes]) : Buffer.from(head, "latin1");
  });
}

/**
 * Requests started at `load.rate` per second until `stopAt`, each on an idle connection; with
 * none idle and `concurrency` open, the request is an error (the server fell that far behind).
 */
async function paced(load: HttpLoad, url: URL, stopAt: number, record: (start: number, end: number, status: number | undefined, err?: unknown) => void): Promise<void> {
  const requests = rawRequests(load, url);
  const idle: RawConnection[] = [];
  const all: RawConnection[] = [];
  const running = new Set<Promise<void>>();
  const interval = 1000 / load.rate!;
  const t0 = now();
  for (let i = 0; ; i++) {
    const due = t0 + i * interval;
    if (due >= stopAt) break;
    if (due > now()) await Bun.sleep(due - now());
    let conn = idle.pop();
    if (!conn && all.length < load.concurrency) all.push((conn = new RawConnection(url.hostname, Number(url.port || 80))));
    const start = now();
    if (!conn) {
      record(start, start, undefined, new Error(`no idle connection of ${load.concurrency}: the server fell behind the rate`));
      continue;
    }
    const c = conn;
    const p = c.request(requests[i % requests.length]!).then(
      (status) => record(start, now(), status),
      (err) => record(start, now(), undefined, err),
    );
    const done = p.then(() => {
      idle.push(c);
      running.delete(done);
    });
    running.add(done);
  }
  await Promise.all(running);
  for (const c of all) c.close();
}

export async function runHttp(load: HttpLoad): Promise<HttpResult> {
  const url = new URL(load.url);
  const warmupMs = load.warmupMs ?? 1_000;
  const t0 = now();
  const measureFrom = t0 + warmupMs;
  const stopAt = measureFrom + load.durationMs;
  const tally: Tally = { hist: histogram(), requests: 0, ok: 0, errors: 0, status: new Map() };
  let next = 0;
  let measuredEnd = measureFrom;

  const record = (start: number, end: number, status: number | undefined, err?: unknown) => {
    if (start < measureFrom) return;
    measuredEnd = Math.max(measuredEnd, end);
    tally.requests++;
    if (status !== undefined) countStatus(tally, status);
    if (status !== undefined && status >= 200 && status < 300) {
      tally.ok++;
      tally.hist.recordValue(Math.max(1, Math.round((end - start) * 1000)));
    } else {
      tally.errors++;
      tally.firstError ??= err ? String((err as Error).message ?? err) : `HTTP ${status}`;
    }
  };

  const loops: Promise<void>[] = [];
  if (load.rate !== undefined) {
    loops.push(paced(load, url, stopAt, record));
  } else if ((load.client ?? "raw") === "raw") {
    const requests = rawRequests(load, url);
    for (let i = 0; i < load.concurrency; i++) {
      loops.push(
        (async () => {
          const conn = new RawConnection(url.hostname, Number(url.port || 80));
          while (now() < stopAt) {
            const req = requests[next++ % requests.length]!;
            const start = now();
            try {
              const status = await conn.request(req);
              record(start, now(), status);
            } catch (err) {
              record(start, now(), undefined, err);
              await Bun.sleep(1);
            }
          }
          conn.close();
        })(),
      );
    }
  } else {
    const bodies = load.bodies && load.bodies.length > 0 ? load.bodies : [undefined];
    for (let i = 0; i < load.concurrency; i++) {
      loops.push(
        (async () => {
          while (now() < stopAt) {
            const body = bodies[next++ % bodies.length];
            const start = now();
            try {
              const res = await fetch(url, { method: load.method ?? "GET", headers: load.headers, body, keepalive: true });
              await res.arrayBuffer();
              record(start, now(), res.status);
            } catch (err) {
              record(start, now(), undefined, err);
              await Bun.sleep(1);
            }
          }
        })(),
      );
    }
  }
  await Promise.all(loops);
  const seconds = Math.max(0.001, (Math.min(measuredEnd, stopAt) - measureFrom) / 1000);
  return {
    requests: tally.requests,
    ok: tally.ok,
    errors: tally.errors,
    status: Object.fromEntries([...tally.status].map(([k, v]) => [String(k), v])),
    seconds: Math.round(seconds * 1000) / 1000,
    rps: Math.round(tally.ok / seconds),
    latency_ms: percentiles(tally.hist),
    ...(tally.firstError ? { first_error: tally.firstError } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// WebSocket subscribers

const print = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

/** The string value of the first `"name":"` in a JSON text (no escapes expected). */
function field(text: string, marker: string): string | undefined {
  const at = text.indexOf(marker);
  if (at < 0) return undefined;
  const from = at + marker.length;
  const end = text.indexOf('"', from);
  return end < 0 ? undefined : text.slice(from, end);
}

export async function runWs(load: WsLoad): Promise<void> {
  const channelPrefix = `{"channel":${JSON.stringify(load.channel)},`;
  const age = histogram();
  /** correlation id → receive times of the first push of that order, one per socket. */
  const firstPush = new Map<string, number[]>();
  let messages = 0;
  let orderEvents = 0;
  let closed = 0;
  const sockets: WebSocket[] = [];
  const stdin = Bun.stdin.text(); // the send times, at EOF

  const open = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(load.url);
      const seen = new Set<string>();
      let subscribed = false;
      const timer = setTimeout(() => reject(new Error(`socket ${i} not subscribed within 30 s`)), 30_000);
      ws.onopen = () => ws.send(JSON.stringify({ action: "subscribe", channels: [load.channel] }));
      ws.onmessage = (e) => {
        const t = now();
        const text = String(e.data);
        if (!subscribed) {
          const m = JSON.parse(text) as { type?: string };
          if (m.type === "subscribed") {
            subscribed = true;
            clearTimeout(timer);
            resolve();
          } else if (m.type === "error") {
            reject(new Error(`subscribe failed: ${text}`));
          }
          return;
        }
        messages++;
        // Pushes are {"channel","id","type","ts","correlation_id","data"} in that order: read the
        // three fields without parsing the whole message, so 500 sockets per process keep up.
        if (!text.startsWith(channelPrefix)) return;
        const type = field(text, '"type":"');
        if (!type?.startsWith("order.")) return;
        orderEvents++;
        const ts = field(text, '"ts":"');
        if (ts) age.recordValue(Math.max(1, Math.round((t - Date.parse(ts)) * 1000)));
        const corr = field(text, '"correlation_id":"');
        if (corr && !seen.has(corr)) {
          seen.add(corr);
          let list = firstPush.get(corr);
          if (!list) firstPush.set(corr, (list = []));
          list.push(t);
        }
      };
      ws.onclose = () => {
        closed++;
        if (!subscribed) reject(new Error(`socket ${i} closed before it subscribed`));
      };
      ws.onerror = () => {
        if (!subscribed) reject(new Error(`socket ${i} failed to open`));
      };
      sockets.push(ws);
    });

  const batch = load.openBatch ?? 50;
  for (let i = 0; i < load.count; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, load.count - i) }, (_, k) => open(i + k)));
  }
  print({ event: "ready", open: sockets.length });
  const progress = setInterval(() => print({ event: "progress", messages, order_events: orderEvents, orders_seen: firstPush.size, closed }), 250);

  const input = JSON.parse((await stdin) || "{}") as { sent?: Record<string, number> };
  clearInterval(progress);
  const sent = input.sent ?? {};
  const e2e = histogram();
  let missing = 0;
  for (const [corr, t0] of Object.entries(sent)) {
    const list = firstPush.get(corr) ?? [];
    missing += sockets.length - list.length;
    for (const t of list) e2e.recordValue(Math.max(1, Math.round((t - t0) * 1000)));
  }
  const result: WsResult = {
    event: "result",
    sockets: sockets.length,
    closed,
    messages,
    order_events: orderEvents,
    age_hist: hdr.encodeIntoCompressedBase64(age),
    e2e_hist: hdr.encodeIntoCompressedBase64(e2e),
    missing,
  };
  for (const ws of sockets) ws.close();
  print(result);
}

if (import.meta.main) {
  const [mode, json] = process.argv.slice(2);
  if ((mode !== "http" && mode !== "ws") || !json) {
    console.error("usage: bun scripts/bench/loadgen.ts http|ws '<json config>'");
    process.exit(2);
  }
  const config = JSON.parse(json);
  if (mode === "http") print(await runHttp(config as HttpLoad));
  else await runWs(config as WsLoad);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// For the sections: running this file as a child process

const SELF = new URL(import.meta.url).pathname;

/**
 * Runs an HTTP load in a child process and returns its result.
 *
 * @example
 * const r = await httpLoadProcess({ url: `${base}/api/v1/portfolios/paper`, headers, concurrency: 64, durationMs: 10_000 });
 */
export async function httpLoadProcess(load: HttpLoad): Promise<HttpResult> {
  const proc = track(Bun.spawn([process.execPath, SELF, "http", JSON.stringify(load)], { stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const line = out.trim().split("\n").pop() ?? "";
  if (code !== 0 || !line.startsWith("{")) throw new Error(`load generator failed (exit ${code}): ${(err || out).trim().slice(-2000)}`);
  return JSON.parse(line) as HttpResult;
}

/** A WebSocket subscriber process: ready once every socket subscribed; `finish` hands it the send times. */
export interface WsProcess {
  ready: Promise<void>;
  /** The latest progress line. */
  progress(): { messages: number; order_events: number; orders_seen: number; closed: number };
  finish(sent: Record<string, number>): Promise<WsResult>;
  kill(): void;
}

export function wsSubscriberProcess(load: WsLoad): WsProcess {
  const proc = track(Bun.spawn([process.execPath, SELF, "ws", JSON.stringify(load)], { stdin: "pipe", stdout: "pipe", stderr: "pipe" }));
  let last = { messages: 0, order_events: 0, orders_seen: 0, closed: 0 };
  let result: WsResult | undefined;
  let err = "";
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  void (async () => {
    for await (const chunk of proc.stderr) err += new TextDecoder().decode(chunk);
  })();
  const reading = eachLine(proc.stdout, (line) => {
    const m = jsonLine(line);
    if (m.event === "ready") onReady();
    else if (m.event === "progress") last = m as unknown as typeof last;
    else if (m.event === "result") result = m as unknown as WsResult;
  });
  const exited = proc.exited.then((code) => {
    if (!result) throw new Error(`WebSocket subscriber process exited ${code} without a result: ${err.trim().slice(-2000)}`);
    return result;
  });
  return {
    ready: Promise.race([ready, exited.then(() => {})]),
    progress: () => last,
    async finish(sent) {
      proc.stdin.write(JSON.stringify({ sent }));
      await proc.stdin.end();
      await reading;
      return exited;
    },
    kill: () => proc.kill(),
  };
}
