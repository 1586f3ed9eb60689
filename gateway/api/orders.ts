/**
 * Orders: place (202; the same client_order_id again → 200 with the first order), list with a
 * cursor, get with its lifecycle events, cancel one, cancel every open one that matches, modify
 * (order-modify.ts).
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { ApiError, invalid } from "./errors.ts";
import { activeBroker, knownInstrument, knownToken, offGrid, offLot } from "./lookups.ts";
import { modifyRoute } from "./order-modify.ts";
import { route, type Route } from "./route.ts";
import { cancelAllQuery, cancelAllResponse, listOrdersQuery, orderListResponse, orderResponse, placeOrderBody } from "./schemas.ts";
import type { OrderView, PlaceOrder, Services } from "./services.ts";
import { orderJson } from "./views.ts";

const orderId = z.string().min(1).max(128).meta({ description: "An order_id this API gave out." });

/** The fields that make an order what it is: a client_order_id reused for another order is a 409. */
function sameOrder(order: OrderView, cmd: PlaceOrder): boolean {
  return (
    order.broker === cmd.broker &&
    order.instrument_token === cmd.instrument_token &&
    order.side === cmd.side &&
    order.quantity === cmd.quantity &&
    order.order_type === cmd.order_type &&
    order.price === cmd.price &&
    order.trigger_price === cmd.trigger_price
  );
}

/** A route on one order by its id (get, cancel): a 404 when there is no such order. */
function orderRoute(
  spec: { method: "GET" | "DELETE"; summary: string; status: 200 | 202; description: string; errors: ContentfulStatusCode[] },
  act: (id: string) => Promise<OrderView | undefined>,
): Route {
  return route({
    method: spec.method,
    path: "/orders/:id",
    params: { id: orderId },
    tag: "orders",
    summary: spec.summary,
    responses: { [spec.status]: { description: spec.description, schema: orderResponse } },
    errors: spec.errors,
    async handle({ param }) {
      const id = param("id");
      const order = orderId.safeParse(id).success ? await act(id) : undefined;
      if (!order) throw new ApiError("NOT_FOUND", `no order ${JSON.stringify(id)}`);
      return { status: spec.status, body: { order: orderJson(order) } };
    },
  });
}

/**
 * The orders routes over the services.
 *
 * @example
 * register(api, orderRoutes(services), { keys, maxBodyBytes });
 */
export function orderRoutes(services: Services): Route[] {
  return [
    route({
      method: "POST",
      path: "/orders",
      tag: "orders",
      summary: "Place an order",
      body: placeOrderBody,
      responses: {
        202: { description: "Accepted: published to the broker's pipeline.", schema: orderResponse },
        200: { description: "An order with this client_order_id exists: that order, unchanged.", schema: orderResponse },
      },
      errors: [400, 404, 409, 413, 415],
      async handle({ body }) {
        const broker = activeBroker(services, body.broker);
        const instrument =
          body.instrument_token !== undefined
            ? knownInstrument(services, body.instrument_token)
            : services.instruments.bySymbol(body.exchange!.toUpperCase(), body.symbol!.toUpperCase());
        if (!instrument) throw new ApiError("NOT_FOUND", `unknown instrument ${body.exchange}:${body.symbol}`);
        const problems = [...offLot(instrument, "quantity", body.quantity), ...offGrid(instrument, "price", body.price), ...offGrid(instrument, "trigger_price", body.trigger_price)];
        if (problems.length > 0) throw invalid(problems, "order");
        const cmd: PlaceOrder = {
          broker,
          instrument_token: instrument.instrument_token,
          side: body.side,
          quantity: body.quantity,
          order_type: body.order_type,
          price: body.price,
          trigger_price: body.trigger_price,
          product: body.product,
          ...(body.amo ? { amo: true } : {}),
          strategy_id: body.strategy_id ?? "manual",
          client_order_id: body.client_order_id,
        };
        const { order, created } = await services.orders.place(cmd);
        if (!created && !sameOrder(order, cmd)) {
          throw new ApiError("CONFLICT", `client_order_id ${JSON.stringify(cmd.client_order_id)} was used for another order (${order.order_id})`, {
            details: { order_id: order.order_id },
          });
        }
        return { status: created ? 202 : 200, body: { order: orderJson(order) } };
      },
    }),
    route({
      method: "GET",
      path: "/orders",
      tag: "orders",
      summary: "List orders, newest first, a page at a time",
      query: listOrdersQuery,
      responses: { 200: { description: "A page; next_cursor is null on the last.", schema: orderListResponse } },
      errors: [404],
      async handle({ query }) {
        const broker = query.broker === undefined ? undefined : activeBroker(services, query.broker);
        const page = await services.orders.list({ broker, status: query.status, strategy_id: query.strategy_id, limit: query.limit ?? 50, cursor: query.cursor });
        return { status: 200, body: { orders: page.orders.map(orderJson), next_cursor: page.next_cursor } };
      },
    }),
    orderRoute({ method: "GET", summary: "One order with its lifecycle events", status: 200, description: "The order.", errors: [404] }, (id) => services.orders.get(id)),
    orderRoute(
      { method: "DELETE", summary: "Request a cancel", status: 202, description: "Cancel requested; the order's events say when it is done.", errors: [404, 409] },
      (id) => services.orders.cancel(id),
    ),
    route({
      method: "DELETE",
      path: "/orders",
      tag: "orders",
      summary: "Cancel every open order that matches",
      query: cancelAllQuery,
      responses: { 202: { description: "A cancel requested for each open order that matched, as DELETE /orders/{id} does.", schema: cancelAllResponse } },
      errors: [404],
      async handle({ query }) {
        const broker = query.broker === undefined ? undefined : activeBroker(services, query.broker);
        if (query.instrument_token !== undefined) knownToken(services, query.instrument_token, "query string");
        const cancelled = await services.orders.cancelAll({ broker, strategy_id: query.strategy_id, instrument_token: query.instrument_token });
        return { status: 202, body: { cancelled } };
      },
    }),
    modifyRoute(services),
  ];
}
