/**
 * The square-off and cancel-all service (gateway/services/square-off.ts) over an in-memory order
 * book: what it places for which positions, and that a second click, a retry after a 503 or a
 * lagging position never places a square-off twice.
 */
import { describe, expect, test } from "bun:test";
import type { OrderView, PlaceOrder } from "../../gateway/api/services.ts";
import { squareOffService, type SquareOffDeps } from "../../gateway/services/square-off.ts";
import { decodeEnvelope } from "../../src/events/envelope.ts";
import { AlphaError } from "../../src/errors.ts";
import type { OutgoingMessage } from "../../src/log/port.ts";
import { isFinal, type Product } from "../../src/orders/vocabulary.ts";
import type { Position } from "../../src/portfolio/index.ts";

const RELIANCE = 738561;
const TCS = 2953217;

const position = (strategy_id: string, instrument_token: number, bought: number, sold: number): Position => ({
  strategy_id,
  instrument_token,
  quantity: bought - sold,
  cost_basis: 0,
  average_price: 0,
  realised_pnl: 0,
  fees: 0,
  last_price: 100_000,
  unrealised_pnl: 0,
  buy_quantity: bought,
  buy_value: 0,
  sell_quantity: sold,
  sell_value: 0,
});

/** An order book that places like the outbox: one order per (broker, client_order_id). */
function world(positions: Position[]) {
  const orders: OrderView[] = [];
  const placed: PlaceOrder[] = [];
  const sent: OutgoingMessage[][] = [];
  /** "strategy:token:side" → the product of the latest order that filled there. */
  const products = new Map<string, Product>();
  let failPlace: ((cmd: PlaceOrder) => boolean) | undefined;
  let logDown = false;
  const deps: SquareOffDeps = {
    activeBrokers: ["paper"],
    producer: {
      send: async (messages) => {
        if (logDown) return new Promise<void>(() => {});
        sent.push([...messages]);
      },
      close: async () => {},
    },
    positions: async () => positions,
    openOrders: async (f) =>
      orders.filter(
        (o) =>
          !isFinal(o.status) &&
          (!f.broker || o.broker === f.broker) &&
          (!f.strategy_id || o.strategy_id === f.strategy_id) &&
          (f.instrument_token === undefined || o.instrument_token === f.instrument_token),
      ),
    productOf: async (_broker, p, side) => products.get(`${p.strategy_id}:${p.instrument_token}:${side}`),
    reached: async (o) => o,
    place: async (cmd) => {
      if (failPlace?.(cmd)) throw new AlphaError("STORE_UNAVAILABLE", "database unavailable", { canRetry: true });
      const seen = cmd.client_order_id === undefined ? undefined : orders.find((o) => o.broker === cmd.broker && o.client_order_id === cmd.client_order_id);
      if (seen) return { order: seen, created: false };
      placed.push(cmd);
      const now = new Date().toISOString();
      const order: OrderView = { order_id: `o${orders.length + 1}`, ...cmd, filled_quantity: 0, status: "PENDING", correlation_id: `c${orders.length + 1}`, created_at: now, updated_at: now };
      orders.push(order);
      return { order, created: true };
    },
  };
  return {
    service: squareOffService(deps),
    deps,
    orders,
    placed,
    sent,
    positions,
    products,
    failPlacing: (f: typeof failPlace) => (failPlace = f),
    downLog: () => (logDown = true),
  };
}

describe("square-off", () => {
  test("one reduce-only MARKET order per matching non-zero position: opposite side, whole net quantity, its strategy, MIS", async () => {
    const w = world([position("mom", RELIANCE, 10, 0), position("rev", RELIANCE, 0, 25), position("mom", TCS, 5, 5), position("rev", TCS, 3, 0)]);
    const out = await w.service.close("paper", { instrument_token: RELIANCE });
    expect(out.map((o) => [o.strategy_id, o.instrument_token, o.side, o.quantity])).toEqual([
      ["mom", RELIANCE, "SELL", 10],
      ["rev", RELIANCE, "BUY", 25],
    ]);
    expect(w.placed[0]).toEqual({
      broker: "paper",
      instrument_token: RELIANCE,
      side: "SELL",
      quantity: 10,
      order_type: "MARKET",
      product: "MIS",
      strategy_id: "mom",
      client_order_id: `squareoff/mom/${RELIANCE}/10-0/0`,
      reduce_only: true,
    });
    // The flat position (5 bought, 5 sold) gets nothing; the strategy filter narrows.
    expect((await w.service.close("paper", { strategy_id: "rev", instrument_token: TCS })).map((o) => [o.side, o.quantity])).toEqual([["SELL", 3]]);
    expect(w.placed).toHaveLength(3);
  });

  test("a position opened as delivery (CNC) or carried (NRML) is closed under that product; unknown is MIS", async () => {
    const w = world([position("mom", RELIANCE, 10, 0), position("mom", TCS, 0, 50), position("rev", TCS, 2, 0)]);
    w.products.set(`mom:${RELIANCE}:BUY`, "CNC");
    w.products.set(`mom:${TCS}:SELL`, "NRML");
    // The product of the side that closes it does not count.
    w.products.set(`rev:${TCS}:SELL`, "CNC");
    await w.service.close("paper", {});
    expect(w.placed.map((c) => [c.strategy_id, c.instrument_token, c.product])).toEqual([
      ["mom", RELIANCE, "CNC"],
      ["mom", TCS, "NRML"],
      ["rev", TCS, "MIS"],
    ]);
  });

  test("flat, or nothing matches: no order, an empty answer", async () => {
    const w = world([position("mom", RELIANCE, 4, 4)]);
    expect(await w.service.close("paper", {})).toEqual([]);
    expect(await w.service.close("paper", { strategy_id: "nobody" })).toEqual([]);
    expect(w.placed).toEqual([]);
  });

  test("a second click while the first square-off is working answers that order and places nothing", async () => {
    const w = world([position("mom", RELIANCE, 10, 0)]);
    const first = await w.service.close("paper", {});
    const second = await w.service.close("paper", {});
    expect(second).toEqual(first);
    expect(w.placed).toHaveLength(1);
  });

  test("the square-off filled but the position has not caught up yet: the filled order is the answer, not a second one", async () => {
    const w = world([position("mom", RELIANCE, 10, 0)]);
    const [first] = await w.service.close("paper", {});
    Object.assign(first!, { status: "FILLED", filled_quantity: 10 });
    expect(await w.service.close("paper", {})).toEqual([first!]);
    expect(w.placed).toHaveLength(1);
  });

  test("partly filled and still working: only what it leaves is placed (nothing here), so the two never cross zero", async () => {
    const w = world([position("mom", RELIANCE, 10, 0)]);
    const [first] = await w.service.close("paper", {});
    Object.assign(first!, { status: "PARTIALLY_FILLED", filled_quantity: 4 });
    w.positions[0] = position("mom", RELIANCE, 10, 4);
    expect(await w.service.close("paper", {})).toEqual([first!]);
    expect(w.placed).toHaveLength(1);
  });

  test("the store down before anything was placed: its own error, as is", async () => {
    const w = world([position("mom", RELIANCE, 10, 0)]);
    w.failPlacing(() => true);
    await expect(w.service.close("paper", {})).rejects.toMatchObject({ code: "STORE_UNAVAILABLE", message: "database unavailable" });
  });

  test("a square-off that ended unfilled (risk refused it) is placed again on the next click, under the next attempt's id", async () => {
    const w = world([position("mom", RELIANCE, 10, 0)]);
    const [first] = await w.service.close("paper", {});
    Object.assign(first!, { status: "REJECTED", reason_code: "NO_MARKET_PRICE" });
    const [again] = await w.service.close("paper", {});
    expect(again!.order_id).not.toBe(first!.order_id);
    expect(w.placed.map((c) => c.client_order_id)).toEqual([`squareoff/mom/${RELIANCE}/10-0/0`, `squareoff/mom/${RELIANCE}/10-0/1`]);
  });

  test("the store down for one position: a 503 naming what was placed, and the retry places only what is missing", async () => {
    const w = world([position("mom", RELIANCE, 10, 0), position("mom", TCS, 0, 2)]);
    w.failPlacing((cmd) => cmd.instrument_token === TCS);
    const err = await w.service.close("paper", {}).catch((e: unknown) => e);
    // The answer says what happened: a 503 naming the order that was placed.
    expect(err).toMatchObject({ code: "STORE_UNAVAILABLE", status: 503, details: { order_ids: [w.orders[0]!.order_id] } });
    expect((err as Error).message).toContain("1 of the square-off's orders were placed");
    w.failPlacing(undefined);
    const out = await w.service.close("paper", {});
    expect(out.map((o) => [o.instrument_token, o.side, o.quantity])).toEqual([
      [RELIANCE, "SELL", 10],
      [TCS, "BUY", 2],
    ]);
    expect(w.placed).toHaveLength(2);
  });
});

describe("cancel-all", () => {
  test("one order.cancel per open order that matches, keyed by its instrument, in one send; the ids answered", async () => {
    const w = world([]);
    const a = (await w.deps.place({ broker: "paper", instrument_token: RELIANCE, side: "BUY", quantity: 1, order_type: "LIMIT", price: 100, strategy_id: "mom" })).order;
    const b = (await w.deps.place({ broker: "paper", instrument_token: TCS, side: "SELL", quantity: 1, order_type: "LIMIT", price: 100, strategy_id: "mom" })).order;
    const done = (await w.deps.place({ broker: "paper", instrument_token: RELIANCE, side: "BUY", quantity: 1, order_type: "LIMIT", price: 100, strategy_id: "mom" })).order;
    done.status = "FILLED";
    expect(await w.service.cancelAll({ broker: "paper", strategy_id: "mom" })).toEqual([a.order_id, b.order_id]);
    expect(w.sent).toHaveLength(1);
    const [first, second] = w.sent[0]!;
    expect([first!.topic, first!.key, second!.topic, second!.key]).toEqual(["paper.orders.commands", String(RELIANCE), "paper.orders.commands", String(TCS)]);
    const cancel = decodeEnvelope(String(first!.value));
    expect(cancel).toMatchObject({ type: "order.cancel", broker: "paper", correlation_id: a.correlation_id, data: { order_id: a.order_id, instrument_token: RELIANCE } });
  });

  test("nothing open: nothing sent, an empty answer", async () => {
    const w = world([]);
    expect(await w.service.cancelAll({})).toEqual([]);
    expect(w.sent).toEqual([]);
  });

  test("orders of a broker that is not active are left alone", async () => {
    const w = world([]);
    await w.deps.place({ broker: "zerodha", instrument_token: RELIANCE, side: "BUY", quantity: 1, order_type: "LIMIT", price: 100, strategy_id: "mom" });
    expect(await w.service.cancelAll({})).toEqual([]);
  });

  test("the log not answering is LOG_UNAVAILABLE (a 503)", async () => {
    const w = world([]);
    await w.deps.place({ broker: "paper", instrument_token: RELIANCE, side: "BUY", quantity: 1, order_type: "LIMIT", price: 100, strategy_id: "mom" });
    w.downLog();
    await expect(w.service.cancelAll({})).rejects.toMatchObject({ code: "LOG_UNAVAILABLE" });
  });
});
