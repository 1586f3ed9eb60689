/**
 * The instrument master, the exchange calendar (GET /market/calendar), and tick ingest (POST /ticks: prices as decimal strings, each tick on
 * its instrument's grid, published to market.ticks with feed "api").
 */
import type { Problem } from "../../src/errors.ts";
import type { Tick } from "../../src/events/payloads.ts";
import { nowIso, toIsoMs } from "../../src/events/iso.ts";
import { calendarTime, type CalendarExchange } from "../../src/market/calendar.ts";
import { onTickGrid } from "../../src/money.ts";
import { invalid } from "./errors.ts";
import { offGrid } from "./lookups.ts";
import { route, type Route } from "./route.ts";
import { calendarQuery, calendarResponse, fastTicksBody, instrumentListResponse, ticksBody, ticksResponse } from "./schemas.ts";
import type { Services } from "./services.ts";
import { instrumentJson } from "./views.ts";

/**
 * The instruments and ticks routes over the services.
 *
 * @example
 * register(api, marketRoutes(services), { keys, maxBodyBytes });
 */
export function marketRoutes(services: Services): Route[] {
  return [
    route({
      method: "GET",
      path: "/instruments",
      tag: "market",
      summary: "The instruments that can be traded and ticked",
      responses: { 200: { description: "Instruments; tick sizes and prices as decimal strings.", schema: instrumentListResponse } },
      async handle() {
        return { status: 200, body: { instruments: services.instruments.list().map(instrumentJson) } };
      },
    }),
    route({
      method: "GET",
      path: "/market/calendar",
      tag: "market",
      summary: "The exchange's sessions, weekends and holidays for a year, and whether it is open now",
      query: calendarQuery,
      responses: { 200: { description: "The year's calendar (times IST) and now: open or closed, and the next open.", schema: calendarResponse } },
      async handle({ query }) {
        const { mode, calendar } = services.marketHours;
        // The query's pattern admits only the exchanges the calendar has.
        const exchange = (query.exchange ?? "NSE").toUpperCase() as CalendarExchange;
        // The wall clock, at the edge: "now" is the caller's, not the event time of any stage.
        const nowMs = Date.parse(nowIso());
        const now = calendar.sessionAt(exchange, nowMs);
        const year = query.year ?? Number(now.date.slice(0, 4));
        const { ms: _ms, ...at } = calendarTime(nowMs);
        const strip = (t: { at: string; ist: string }) => ({ at: t.at, ist: t.ist });
        return {
          status: 200,
          body: {
            ...calendar.calendar(exchange, year),
            hours_enforced: mode === "nse",
            now: { ...at, phase: now.phase, why: now.why, ...(now.closes ? { closes: strip(now.closes) } : {}), next_open: strip(now.next_open) },
          },
        };
      },
    }),
    route({
      method: "POST",
      path: "/ticks",
      tag: "market",
      summary: `Publish ticks (a batch of 1 to 1000)`,
      body: ticksBody,
      fastBody: fastTicksBody,
      responses: { 202: { description: "Published to market.ticks.", schema: ticksResponse } },
      errors: [400, 413, 415],
      async handle({ body }) {
        const now = nowIso();
        const problems: Problem[] = [];
        const ticks: Tick[] = [];
        body.ticks.forEach((t, n) => {
          const at = `ticks.${n}`;
          const inst = services.instruments.byToken(t.instrument_token);
          if (!inst) {
            problems.push({ path: `${at}.instrument_token`, message: `${at}.instrument_token: unknown instrument ${t.instrument_token}` });
            return;
          }
          // Checked first without building a path or an array: this runs for every tick of a feed.
          const ts = inst.tick_size;
          if (!onTickGrid(t.last_price, ts) || (t.bid !== undefined && !onTickGrid(t.bid, ts)) || (t.ask !== undefined && !onTickGrid(t.ask, ts))) {
            problems.push(...offGrid(inst, `${at}.last_price`, t.last_price), ...offGrid(inst, `${at}.bid`, t.bid), ...offGrid(inst, `${at}.ask`, t.ask));
          }
          ticks.push({
            instrument_token: t.instrument_token,
            last_price: t.last_price,
            last_quantity: t.last_quantity,
            volume: t.volume,
            bid: t.bid,
            ask: t.ask,
            exchange_ts: t.exchange_ts === undefined ? now : toIsoMs(t.exchange_ts),
            feed: "api",
          });
        });
        if (problems.length > 0) throw invalid(problems, "ticks");
        await services.ticks.publish(ticks);
        return { status: 202, body: { accepted: ticks.length } };
      },
    }),
  ];
}
