/**
 * The OpenAlgo bridge's gateway side: with OPENALGO_SOURCE_TOPIC, it follows an OpenAlgo
 * instance's order events into the read-only `openalgo_orders` view (src/openalgo-events/source.ts),
 * lists them for GET /sources/openalgo/orders and pushes each change on `orders.openalgo`. With
 * OPENALGO_EVENTS_TOPIC, it says at start that the instrument master is loaded
 * (`master_contract_download`); the order events themselves are the publisher stage's.
 */
import type { Config } from "../../src/config.ts";
import { newId } from "../../src/events/envelope.ts";
import type { Log, Producer } from "../../src/log/port.ts";
import type { Logger } from "../../src/logger.ts";
import { masterContractMessage } from "../../src/openalgo-events/publish.ts";
import { followOpenAlgo, type OpenAlgoSource } from "../../src/openalgo-events/source.ts";
import { sqlDb } from "../../src/store/db.ts";
import type { Store } from "../../src/store/index.ts";
import { openAlgoOrdersPage, type StoredOpenAlgoOrder } from "../../src/store/openalgo-orders.ts";
import { withinStore } from "../../src/store/wait.ts";
import { OPENALGO_CHANNEL } from "../api/channels.ts";
import type { OpenAlgoOrderView, PushedEvent, Services } from "../api/services.ts";
import { cursorBelow, seqOfCursor } from "./orders-view.ts";

/** A stored OpenAlgo order as the API and the WebSocket show it (money in paise until the edge). */
export function openAlgoOrderView(o: StoredOpenAlgoOrder): OpenAlgoOrderView {
  return { ...o, source: "openalgo", read_only: true };
}

export interface OpenAlgoBridge {
  service?: NonNullable<Services["openAlgo"]>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * @example
 * const bridge = openAlgoBridge({ config, log, producer, store, logger, master: { symbols: 500, seconds: 0.2 }, push: fanout.emit });
 * await bridge.start();
 */
export function openAlgoBridge(deps: { config: Config; log: Log; producer: Producer; store: Store; logger: Logger; master: { symbols: number; seconds: number }; push: (channel: string, event: PushedEvent) => void }): OpenAlgoBridge {
  const { sourceTopic, eventsTopic, userId } = deps.config.openAlgo;
  const db = sqlDb(deps.store.sql);
  let source: OpenAlgoSource | undefined;
  const push = (o: StoredOpenAlgoOrder) => deps.push(OPENALGO_CHANNEL, { id: newId(), type: "openalgo.order", ts: o.event_ts, correlation_id: o.order_id, data: openAlgoOrderView(o) });
  return {
    service: sourceTopic
      ? {
          topic: sourceTopic,
          async list(filter) {
            const rows = await withinStore(openAlgoOrdersPage(db, { limit: filter.limit + 1, beforeSeq: filter.cursor === undefined ? undefined : seqOfCursor(filter.cursor), status: filter.status }), "cannot read the OpenAlgo orders");
            const page = rows.slice(0, filter.limit);
            return { orders: page.map(openAlgoOrderView), next_cursor: rows.length > filter.limit ? cursorBelow(page[page.length - 1]!.seq) : null };
          },
        }
      : undefined,
    async start() {
      if (eventsTopic) {
        const at = new Date().toISOString();
        const messages = deps.config.activeBrokers.map((broker) => masterContractMessage({ userId, broker, symbols: deps.master.symbols, seconds: deps.master.seconds, at }));
        await deps.producer.send(messages.map((m) => ({ topic: eventsTopic, key: userId, value: JSON.stringify(m) }))).catch((err: unknown) => deps.logger.warn({ err: (err as Error).message }, "could not publish master_contract_download to the OpenAlgo topic"));
      }
      if (sourceTopic) {
        source = await followOpenAlgo({ log: deps.log, producer: deps.producer, db, topic: sourceTopic, logger: deps.logger, onOrder: push });
        deps.logger.info({ topic: sourceTopic }, "following an OpenAlgo instance's order events (orders.openalgo)");
      }
    },
    async close() {
      await source?.close();
    },
  };
}
