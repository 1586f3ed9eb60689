/**
 * Orders: place (202; the same client_order_id again → 200 with the first order), list with a
 * cursor, get with its lifecycle events, cancel.
 */
import { z } from "zod";
import { ApiError, invalid } from "./errors.ts";
import { activeBroker, knownInstrument, offGrid, offLot } from "./lookups.ts";
import { route, type Route } from "./route.ts";
import { listOrdersQuery, orderListResponse, orderResponse, placeOrderBody } from "./schemas.ts";
import type { OrderView, PlaceOrder, Services } from "./services.ts";
import { orderJson } from "./views.ts";

const orderId = z.string().min(1).max(128).meta({ description: "An order_id this API gave out." });

/** The fields that make an order what it is: a client_order_id reused for another order is a 409. */
function sameOrder(o: OrderView, cmd: PlaceOrder): boolean {
  return (
    o.broker === cmd.broker &&
    o.instrument_token === cmd.instrument_token &&
    o.side === cmd.side &&
    o.quantity === cmd.quantity &&
    o.order_type === cmd.order_type &&
    o.price === cmd.price &&
    o.trigger_price === cmd.trigger_price
  );
}

/** `act` on the order (get or cancel); a 404 when there is no such order. */
async function onOrder(id: string, act: (id: string) => Promise<OrderView | undefined>): Promise<OrderView> {
  const o = orderId.safeParse(id).success ? await act(id) : undefined;
  if (!o) throw new ApiError("NOT_FOUND", `no order ${JSON.stringify(id)}`);
  return o;
}

/**
 * The orders routes over the services.
 *
 * @example
 * register(api, orderRoutes(services), { keys, maxBodyBytes });
 */
export function orderRoutes(s: Services): Route[] {
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
        const broker = activeBroker(s, body.broker);
        const inst =
          body.instrument_token !== undefined
            ? knownInstrument(s, body.instrument_token)
            : s.instruments.bySymbol(body.exchange!.toUpperCase(), body.symbol!.toUpperCase());
        if (!inst) throw new ApiError("NOT_FOUND", `unknown instrument ${body.exchange}:${body.symbol}`);
        const problems = [...offLot(inst, "quantity", body.quantity), ...offGrid(inst, "price", body.price), ...offGrid(inst, "trigger_price", body.trigger_price)];
        if (problems.length > 0) throw invalid(problems, "order");
        const cmd: PlaceOrder = {
          broker,
          instrument_token: inst.instrument_token,
          side: body.side,
          quantity: body.quantity,
          order_type: body.order_type,
          price: body.price,
          trigger_price: body.trigger_price,
          product: body.product,
          strategy_id: body.strategy_id ?? "manual",
          client_order_id: body.client_order_id,
        };
        const { order, created } = await s.orders.place(cmd);
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
        const broker = query.broker === undefined ? undefined : activeBroker(s, query.broker);
        const page = await s.orders.list({ broker, status: query.status, strategy_id: query.strategy_id, limit: query.limit ?? 50, cursor: query.cursor });
        return { status: 200, body: { orders: page.orders.map(orderJson), next_cursor: page.next_cursor } };
      },
    }),
    route({
      method: "GET",
      path: "/orders/:id",
      params: { id: orderId },
      tag: "orders",
      summary: "One order with its lifecycle events",
      responses: { 200: { description: "The order.", schema: orderResponse } },
      errors: [404],
      async handle({ param }) {
        return { status: 200, body: { order: orderJson(await onOrder(param("id"), (id) => s.orders.get(id))) } };
      },
    }),
    route({
      method: "DELETE",
      path: "/orders/:id",
      params: { id: orderId },
      tag: "orders",
      summary: "Request a cancel",
      responses: { 202: { description: "Cancel requested; the order's events say when it is done.", schema: orderResponse } },
      errors: [404, 409],
      async handle({ param }) {
        return { status: 202, body: { order: orderJson(await onOrder(param("id"), (id) => s.orders.cancel(id))) } };
      },
    }),
  ];
}
