/**
 * Bench section "ws": order events fanned out to 1,000 WebSocket subscribers.
 *
 * Starts the gateway as a process (embedded, FEED=none), opens the subscribers in separate client
 * processes (scripts/bench/loadgen.ts ws, 500 sockets each), each subscribed to `orders.paper`,
 * then places MARKET orders through REST at a steady pace. Every order's events (order.submitted,
 * order.filled) are pushed to every subscriber.
 *
 * - ws.fanout_{p50,p99,max}_ms: from the moment the client sent the order's POST to the moment
 *   each subscriber received the order's first push (correlated by correlation_id): the whole
 *   path a user sees, REST → signals.raw → risk → execution → orders.submitted → the gateway's
 *   fan-out → 1,000 sockets. One sample per order per subscriber.
 * - ws.event_age_{p50,p99,max}_ms: receive time − the pushed event's envelope ts, every order
 *   event: the fan-out alone (the event's creation in the execution stage to its receipt). ts has
 *   millisecond resolution.
 * - ws.missing: (order, subscriber) pairs with no push; ws.closed: sockets closed by the server
 *   (e.g. 1013 for a slow consumer). Both should be 0.
 *
 * File descriptors: each subscriber is one socket in a client process and one in the gateway.
 * The soft limit (ulimit -n) must exceed the sockets per process plus the gateway's own files;
 * the section checks it and says so rather than failing halfway.
 */
import * as hdr from "hdr-histogram-js";
import { readFileSync } from "node:fs";
import { BENCH_INSTRUMENTS, marketOrder, startBenchGateway } from "./api.ts";
import { histogram, now, percentiles, wsSubscriberProcess, type WsProcess, type WsResult } from "./loadgen.ts";
import type { BenchOptions, BenchSection } from "./types.ts";

/** The soft limit on open files of this process (children inherit it), or undefined when unknown. */
function openFilesLimit(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === "unlimited" ? Number.POSITIVE_INFINITY : Number(soft);
  } catch {
    return undefined;
  }
}

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const subscribers = Number(process.env.BENCH_WS_SUBSCRIBERS ?? 1000);
  const processes = Number(process.env.BENCH_WS_PROCESSES ?? 2);
  const orders = Number(process.env.BENCH_WS_ORDERS ?? (opts.long ? 2000 : 200));
  const perSecond = Number(process.env.BENCH_WS_ORDERS_PER_S ?? 20);

  const limit = openFilesLimit();
  const needed = subscribers + 512; // the gateway holds every socket, plus its own files
  if (limit !== undefined && limit < needed) {
    throw new Error(`open files limit (ulimit -n) is ${limit}; ${subscribers} WebSocket subscribers need about ${needed}: raise it (ulimit -n ${needed * 2})`);
  }
  opts.log(`ws: open files limit ${limit ?? "unknown"} (need ~${needed}); starting the gateway`);

  const g = await startBenchGateway();
  const clients: WsProcess[] = [];
  try {
    const wsUrl = `${g.url.replace(/^http/, "ws")}/ws?api_key=${encodeURIComponent(g.key)}`;
    const per = Math.ceil(subscribers / processes);
    for (let p = 0, left = subscribers; p < processes && left > 0; p++, left -= per) {
      clients.push(wsSubscriberProcess({ url: wsUrl, count: Math.min(per, left), channel: "orders.paper" }));
    }
    const t0 = Date.now();
    await Promise.all(clients.map((c) => c.ready));
    opts.log(`ws: ${subscribers} subscribers on orders.paper in ${clients.length} processes (${Date.now() - t0} ms to connect); placing ${orders} orders at ${perSecond}/s`);

    const sent: Record<string, number> = {};
    const start = now();
    let failed = 0;
    for (let n = 0; n < orders; n++) {
      const due = start + (n * 1000) / perSecond;
      const wait = due - now();
      if (wait > 0) await Bun.sleep(wait);
      const i = BENCH_INSTRUMENTS[n % BENCH_INSTRUMENTS.length]!;
      const at = now();
      const r = await g.call("POST", "/api/v1/orders", marketOrder(i.token, n % 8 < 4 ? "BUY" : "SELL"));
      if (r.status === 202 && r.body.order?.correlation_id) sent[r.body.order.correlation_id] = at;
      else failed++;
    }

    // Until every subscriber has every order's events (2 per order), or nothing more comes for 3 s.
    const expected = Object.keys(sent).length * subscribers * 2;
    let last = -1;
    let lastChange = Date.now();
    for (;;) {
      const got = clients.reduce((s, c) => s + c.progress().order_events, 0);
      if (got !== last) {
        last = got;
        lastChange = Date.now();
      }
      if (got >= expected || Date.now() - lastChange > 3_000) break;
      await Bun.sleep(100);
    }

    const results: WsResult[] = await Promise.all(clients.map((c) => c.finish(sent)));
    const e2e = histogram();
    const age = histogram();
    for (const r of results) {
      e2e.add(hdr.decodeFromCompressedBase64(r.e2e_hist));
      age.add(hdr.decodeFromCompressedBase64(r.age_hist));
    }
    const f = percentiles(e2e);
    const a = percentiles(age);
    const sum = (k: "closed" | "missing" | "order_events" | "sockets") => results.reduce((s, r) => s + r[k], 0);
    opts.log(`ws: fan-out (POST → push) p50 ${f.p50} ms, p99 ${f.p99} ms, max ${f.max} ms over ${f.count} deliveries; event age p99 ${a.p99} ms; missing ${sum("missing")}, closed ${sum("closed")}, failed orders ${failed}`);
    if (sum("missing") > 0) {
      // What the gateway said about it: its warnings and errors (pino level 40 and up), the last ten.
      const said = g.gw.lines.filter((l) => Number(l.level) >= 40).slice(-10);
      opts.log(`ws: pushes missing; the gateway's last warnings and errors (${said.length}):`);
      for (const l of said) opts.log(`  ${JSON.stringify(l).slice(0, 400)}`);
    }
    return {
      "ws.subscribers": sum("sockets"),
      "ws.orders": Object.keys(sent).length,
      "ws.orders_failed": failed,
      "ws.order_events_received": sum("order_events"),
      "ws.fanout_p50_ms": f.p50,
      "ws.fanout_p90_ms": f.p90,
      "ws.fanout_p99_ms": f.p99,
      "ws.fanout_max_ms": f.max,
      "ws.event_age_p50_ms": a.p50,
      "ws.event_age_p99_ms": a.p99,
      "ws.event_age_max_ms": a.max,
      "ws.missing": sum("missing"),
      "ws.closed": sum("closed"),
      "ws.open_files_limit": limit === undefined || !Number.isFinite(limit) ? null : limit,
    };
  } finally {
    for (const c of clients) c.kill();
    await g.stop();
  }
}
