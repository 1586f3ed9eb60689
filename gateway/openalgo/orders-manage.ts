/**
 * OpenAlgo's routes on orders and positions already there: modifyorder, cancelorder,
 * cancelallorder, closeposition, orderstatus, openposition. A key sees the orders of the broker its
 * mode trades (analyze: paper; live: zerodha), as an OpenAlgo account sees its own book: another
 * broker's order id is "not found".
 */
import { z } from "zod";
import type { Broker } from "../../src/config.ts";
import { isFinal, PRODUCTS, type Product } from "../../src/orders/vocabulary.ts";
import type { Modifiable, ModifyOrder, OrderView, Services } from "../api/services.ts";
import { orderStatusWord } from "../../src/openalgo-events/messages.ts";
import type { OaDeps } from "./deps.ts";
import { OaError } from "./errors.ts";
import { actionField, exchangeField, modeMark, noDisclosedQuantity, pricesOf, pricetypeField, productField, strategyField } from "./order-fields.ts";
import { oaRoute, type OaRoute } from "./route.ts";
import { instrumentFor, openAlgoExchange, openAlgoSymbol } from "./symbols.ts";
import { oaNumber, quantityOf, rupeesNumber } from "./values.ts";

const orderid = z.string().min(1).max(128);
/** OpenAlgo requires `strategy` on every call; where it selects nothing (a cancel, cancel-all, close, a status) any name is taken as sent. */
const anyStrategy = z.string().max(256);
const strategyOnly = z.object({ strategy: anyStrategy });

const modifyBody = z.object({
  strategy: anyStrategy,
  exchange: exchangeField,
  symbol: z.string().min(1).max(64),
  orderid,
  action: actionField,
  product: productField,
  pricetype: pricetypeField,
  price: oaNumber,
  quantity: oaNumber,
  disclosed_quantity: oaNumber.optional(),
  trigger_price: oaNumber.optional(),
});


const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const IST_OFFSET_MS = 330 * 60_000;

/**
 * An ISO time as OpenAlgo writes an order's, in India time: "28-Aug-2025 09:59:10".
 *
 * @example
 * openAlgoTime("2025-08-28T04:29:10.000Z"); // "28-Aug-2025 09:59:10"
 */
export function openAlgoTime(iso: string): string {
  const t = new Date(Date.parse(iso) + IST_OFFSET_MS);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(t.getUTCDate())}-${MONTHS[t.getUTCMonth()]}-${t.getUTCFullYear()} ${two(t.getUTCHours())}:${two(t.getUTCMinutes())}:${two(t.getUTCSeconds())}`;
}

/** The order's product: its signal's (the first event), MIS when it named none (as the day's end reads it). */
function productOf(order: OrderView): Product {
  const product = (order.events?.[0]?.data as { product?: unknown } | undefined)?.product;
  return PRODUCTS.find((p) => p === product) ?? "MIS";
}

/** `orderid` of this key's broker, with its events; OpenAlgo's 404 otherwise. */
async function ownOrder(services: Services, broker: Broker, id: string): Promise<OrderView> {
  const order = await services.orders.get(id);
  if (!order || order.broker !== broker) throw new OaError(404, `Order ${id} not found`);
  return order;
}

/**
 * @example
 * const routes = manageRoutes(deps); // modifyorder, cancelorder, cancelallorder, closeposition, orderstatus, openposition
 */
export function manageRoutes(deps: OaDeps): OaRoute[] {
  const { services, symbols } = deps;

  /** An order as orderstatus answers it: OpenAlgo's names for its symbol, words and numbers (quantities as integers, as its sandbox and Zerodha mapping answer them). */
  function statusData(order: OrderView) {
    const instrument = services.instruments.byToken(order.instrument_token);
    return {
      action: order.side,
      average_price: order.average_price !== undefined ? rupeesNumber(order.average_price) : 0,
      exchange: instrument ? openAlgoExchange(instrument) : "",
      order_status: orderStatusWord(order.status, order.order_type, order.filled_quantity),
      orderid: order.order_id,
      price: order.price !== undefined ? rupeesNumber(order.price) : 0,
      pricetype: order.order_type,
      product: productOf(order),
      quantity: order.quantity,
      symbol: instrument ? openAlgoSymbol(instrument) : String(order.instrument_token),
      timestamp: openAlgoTime(order.updated_at),
      trigger_price: order.trigger_price !== undefined ? rupeesNumber(order.trigger_price) : 0,
    };
  }

  return [
    oaRoute({
      name: "modifyorder",
      summary: "Changes an open order's quantity, type or prices",
      scope: "trade",
      body: modifyBody,
      handle: async ({ body, broker }) => {
        const order = await ownOrder(services, broker, body.orderid);
        if (isFinal(order.status)) throw new OaError(400, `order ${order.order_id} is ${order.status}: only an open order can be modified`);
        const instrument = instrumentFor(symbols, body.exchange, body.symbol);
        // What an order is cannot change: only its quantity, type and prices.
        if (instrument.instrument_token !== order.instrument_token) throw new OaError(400, `symbol: order ${order.order_id} is not on ${body.exchange}:${body.symbol}`);
        if (body.action !== order.side) throw new OaError(400, `action: order ${order.order_id} is a ${order.side}; a modify cannot change its side`);
        if (body.product !== productOf(order)) throw new OaError(400, `product: order ${order.order_id} is ${productOf(order)}; a modify cannot change its product`);
        noDisclosedQuantity(body.disclosed_quantity);
        const quantity = quantityOf(body.quantity, instrument);
        if (quantity <= order.filled_quantity) throw new OaError(400, `quantity: ${quantity} is not above the ${order.filled_quantity} already filled (cancel the rest instead)`);
        const next: ModifyOrder = { quantity, order_type: body.pricetype, ...pricesOf(body.pricetype, instrument, body.price, body.trigger_price), changed: [] };
        next.changed = (["quantity", "order_type", "price", "trigger_price"] as Modifiable[]).filter((f) => next[f] !== order[f]);
        if (next.changed.length > 0) await services.orders.modify(order, next);
        return { status: "success", orderid: order.order_id, ...modeMark(broker) };
      },
    }),
    oaRoute({
      name: "cancelorder",
      summary: "Requests a cancel of one open order",
      scope: "trade",
      body: z.object({ strategy: anyStrategy, orderid }),
      handle: async ({ body, broker }) => {
        const order = await ownOrder(services, broker, body.orderid);
        if (isFinal(order.status)) throw new OaError(400, `order ${order.order_id} is ${order.status}: only an open order can be cancelled`);
        await services.orders.cancel(order.order_id);
        return { status: "success", orderid: order.order_id, ...modeMark(broker) };
      },
    }),
    oaRoute({
      name: "cancelallorder",
      summary: "Requests a cancel of every open order the key's broker has",
      scope: "trade",
      body: strategyOnly,
      handle: async ({ broker }) => {
        // OpenAlgo cancels the account's every open order, whichever strategy placed it.
        const canceled = await services.orders.cancelAll({ broker });
        return {
          status: "success",
          message: `Canceled ${canceled.length} orders. Failed to cancel 0 orders.`,
          canceled_orders: canceled,
          failed_cancellations: [],
          ...modeMark(broker),
        };
      },
    }),
    oaRoute({
      name: "closeposition",
      summary: "Squares off every open position the key's broker has",
      scope: "trade",
      body: strategyOnly,
      handle: async ({ broker }) => {
        // OpenAlgo closes the account's every position; each square-off is placed under the strategy that holds it.
        const orders = await services.portfolios.close(broker, {});
        const message = orders.length > 0 ? "All Open Positions Squared Off" : "No open positions to close";
        return { status: "success", message, ...modeMark(broker) };
      },
    }),
    oaRoute({
      name: "orderstatus",
      summary: "One order as OpenAlgo shows it",
      scope: "read",
      body: z.object({ strategy: anyStrategy.optional(), orderid }),
      handle: async ({ body, broker }) => ({ status: "success", data: statusData(await ownOrder(services, broker, body.orderid)), ...modeMark(broker) }),
    }),
    oaRoute({
      name: "openposition",
      summary: "The strategy's net quantity in one symbol",
      scope: "read",
      body: z.object({ strategy: strategyField, exchange: exchangeField, symbol: z.string().min(1).max(64), product: productField }),
      handle: async ({ body, broker }) => {
        const instrument = instrumentFor(symbols, body.exchange, body.symbol);
        // Our positions are per strategy and instrument, not per product: `product` narrows nothing.
        const portfolio = await services.portfolios.get(broker);
        const held = portfolio.positions.find((p) => p.strategy_id === body.strategy && p.instrument_token === instrument.instrument_token);
        return { status: "success", quantity: held?.quantity ?? 0, ...modeMark(broker) };
      },
    }),
  ];
}
