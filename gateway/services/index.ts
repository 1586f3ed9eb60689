/**
 * The gateway's Services (gateway/api/services.ts) over the log, the store and the cache, one
 * small service each: orders (placed through the outbox), portfolios, strategies, risk, and the
 * events pushed to WebSocket subscribers. Every call is bounded, and a dependency down is a
 * retryable error (a 503): see guarded.ts.
 */
import type { Cache } from "../../src/cache/port.ts";
import type { Config } from "../../src/config.ts";
import { bounded, dependencyError } from "../../src/errors.ts";
import type { Log, Producer } from "../../src/log/port.ts";
import type { Logger } from "../../src/logger.ts";
import { publishTicks } from "../../src/market/feed.ts";
import { loadCalendar } from "../../src/market/calendar.ts";
import type { InstrumentMaster } from "../../src/market/instruments.ts";
import type { Store } from "../../src/store/index.ts";
import { lastFilledProduct, openOrders } from "../../src/store/orders.ts";
import { withinStore } from "../../src/store/wait.ts";
import type { Position } from "../../src/portfolio/index.ts";
import type { Services } from "../api/services.ts";
import type { ControlPlane } from "../control.ts";
import type { WorkerStatus } from "../supervisor.ts";
import { OrderRelay, type RelayOptions } from "../outbox.ts";
import { LOG_WAIT_MS, SERVICE_WAIT_MS } from "./budgets.ts";
import { controlCommands } from "./controls.ts";
import { eventFanout } from "./events.ts";
import { openAlgoBridge } from "./openalgo.ts";
import { guarded } from "./guarded.ts";
import { orderService } from "./orders.ts";
import { orderView } from "./orders-view.ts";
import { builtPositions, portfolioService } from "./portfolios.ts";
import { pipelineService } from "./pipeline.ts";
import { riskService } from "./risk.ts";
import { squareOffService } from "./square-off.ts";
import { strategyService } from "./strategies.ts";
import { webhookService } from "../webhooks/service.ts";

export { LOG_WAIT_MS, PLACE_DOUBT_WAIT_MS, PLACE_SEND_WAIT_MS, PLACE_STORE_WAIT_MS, SERVICE_WAIT_MS } from "./budgets.ts";
export { TICKS_LINGER_MS } from "./events.ts";

export interface ServicesDeps {
  config: Config;
  log: Log;
  producer: Producer;
  store: Store;
  cache: Cache;
  logger: Logger;
  /** The instrument master the services look instruments up in (the process's, read at start). */
  instruments: InstrumentMaster;
  /** How long the tick consumer stays after the last watch ends (default TICKS_LINGER_MS). */
  ticksLingerMs?: number;
  /** The control plane (gateway/control.ts); without it the control calls answer 503 (tests of other services). */
  controls?: ControlPlane;
  /** The stage workers' statuses, for the pipeline's health (none: no stages listed). */
  workers?: () => WorkerStatus[];
  /** How big the instrument master is and how long it took to load (the OpenAlgo topic's master_contract_download). */
  masterLoad?: { symbols: number; seconds: number };
  /** The order relay's settings (gateway/outbox.ts); tests shorten them. */
  relay?: Partial<Omit<RelayOptions, "sql" | "producer" | "logger">>;
}

export type GatewayServices = Services & { start(): Promise<void>; close(): Promise<void>; relay: OrderRelay };

/**
 * @example
 * const services = createServices({ config, log, producer, store, cache, logger, instruments, controls });
 * await services.start(); // the relay sends what a crash left unsent, the fan-out starts
 * mountApi(app, { services, auth: keys, logger });
 */
export function createServices(deps: ServicesDeps): GatewayServices {
  const sql = deps.store.sql;
  const activeBrokers = deps.config.activeBrokers;
  const relay = new OrderRelay({ sql, producer: deps.producer, logger: deps.logger, ...deps.relay });
  const controls = controlCommands({ producer: deps.producer, activeBrokers, controls: deps.controls });
  const orders = orderService({ sql, producer: deps.producer, logger: deps.logger, relay, sendTimeoutMs: deps.config.orderSendTimeoutMs ?? 30_000 });
  const fanout = eventFanout({ log: deps.log, activeBrokers, logger: deps.logger, ticksLingerMs: deps.ticksLingerMs });
  const master = deps.instruments;
  const squareOff = squareOffService({
    activeBrokers,
    producer: deps.producer,
    positions: async (broker) => {
      try {
        const built = await bounded(builtPositions(deps.cache, broker), SERVICE_WAIT_MS, "TIMEOUT", "read the positions to square off: the cache did not answer");
        return Object.values(built).map((json) => JSON.parse(json) as Position);
      } catch (err) {
        throw dependencyError(err) ?? err;
      }
    },
    openOrders: async (filter) => (await withinStore(openOrders(sql, filter), "cannot read the open orders")).map(orderView),
    reached: orders.reached,
    place: orders.orders.place,
    productOf: (broker, p, side) => withinStore(lastFilledProduct(sql, { broker, strategy_id: p.strategy_id, instrument_token: p.instrument_token, side }), "cannot read the position's product"),
  });
  const pipeline = pipelineService({ log: deps.log, workers: deps.workers ?? (() => []), activeBrokers });
  const openAlgo = openAlgoBridge({ ...deps, master: deps.masterLoad ?? { symbols: master.all().length, seconds: 0 }, push: fanout.emit });

  return guarded({
    activeBrokers,
    relay,
    async start() {
      // The relay first: orders a crash left unsent go out at start.
      relay.start();
      await fanout.start();
      await openAlgo.start();
    },
    async close() {
      fanout.refuseWatches();
      pipeline.close();
      await orders.close();
      await Promise.all([fanout.close(), relay.close(), openAlgo.close()]);
    },
    orders: { ...orders.orders, cancelAll: squareOff.cancelAll },
    portfolios: { ...portfolioService({ sql, cache: deps.cache, startingCash: deps.config.startingCash }), close: squareOff.close },
    strategies: strategyService({ sql, controls }),
    risk: riskService({ sql, controls }),
    instruments: { list: () => master.all(), byToken: (token) => master.byToken(token), bySymbol: (exchange, symbol) => master.bySymbol(exchange, symbol) },
    ticks: {
      // Ticks that reach the log after our 503 are harmless: a tick only sets the last price.
      publish: (ticks) => bounded(publishTicks(deps.producer, ticks, "gateway.api"), LOG_WAIT_MS, "LOG_UNAVAILABLE", "cannot publish the ticks: the log did not answer"),
    },
    events: fanout.events,
    marketHours: { mode: deps.config.marketHours, calendar: loadCalendar(deps.config.marketCalendarFile) },
    pipeline: { status: () => pipeline.status() },
    webhooks: webhookService({ sql }),
    ...(openAlgo.service ? { openAlgo: openAlgo.service } : {}),
  });
}
