/** The order lifecycle, Given/When/Then: events in, the order out, no infrastructure. */
import { describe, expect, test } from "bun:test";
import type { AnyEnvelope } from "../../src/events/envelope.ts";
import { evolve, foldBatch, isOrderEvent, type Order } from "../../src/orders/lifecycle.ts";

const ORDER = "ord-1";
let n = 0;

function event(type: string, extra: Record<string, unknown> = {}, broker = "paper"): AnyEnvelope {
  n++;
  return {
    id: `01930000-0000-7000-8000-${String(n).padStart(12, "0")}`,
    type,
    ts: new Date(Date.UTC(2026, 11, 2, 9, 15, 0, n)).toISOString(),
    correlation_id: `corr-${ORDER}`,
    causation_id: null,
    trace_id: ORDER,
    source: "test",
    version: 1,
    broker,
    key: "738561",
    data: { signal_id: ORDER, order_id: ORDER, strategy_id: "mom", instrument_token: 738561, side: "BUY", quantity: 10, order_type: "LIMIT", price: 129_000, checks: [], ...extra },
  } as unknown as AnyEnvelope;
}

const validated = () => event("signal.validated");
const submitted = () => event("order.submitted");
const filled = (qty: number, price: number, status = "PARTIALLY_FILLED") => event("order.filled", { fill_id: `f${n}`, fill_quantity: qty, fill_price: price, filled_quantity: qty, fees: 0, status });
const cancelled = () => event("order.cancelled");
const rejected = (reason_code = "MAX_QUANTITY") => event("signal.rejected", { reason_code, message: `refused: ${reason_code}` });
const deadlineRefusal = () => rejected("SEND_TIMEOUT");
const failed = (reason_code = "VENUE_DOWN") => event("order.failed", { reason_code, message: "venue down" });
const cancelRefused = () => event("order.cancel_rejected", { reason_code: "NOT_OPEN", message: "not open" });

/** The order after these events, one by one. */
const given = (...events: AnyEnvelope[]): Order | undefined => events.reduce<Order | undefined>(evolve, undefined);
/** An order the API placed: PENDING before any pipeline event. */
const placed = (): Order => ({ ...given(validated())!, status: "PENDING" });
const timedOut = (): Order => ({ ...placed(), status: "FAILED", reason_code: "SEND_TIMEOUT", message: "not sent in time" });

describe("an order is made from its first event", () => {
  test("given nothing, when a signal is validated, then the order is PENDING with the signal's fields", () => {
    const first = validated();
    expect(evolve(undefined, first)).toEqual({
      order_id: ORDER,
      broker: "paper",
      strategy_id: "mom",
      instrument_token: 738561,
      side: "BUY",
      quantity: 10,
      order_type: "LIMIT",
      price: 129_000,
      trigger_price: null,
      product: null,
      status: "PENDING",
      reason_code: null,
      message: null,
      correlation_id: `corr-${ORDER}`,
      filled_quantity: 0,
      filled_value: 0,
      created_at: first.ts,
    });
  });

  test("given nothing, when a strategy's signal arrives without an order id, then the order is keyed by the signal id", () => {
    const e = event("signal.validated", { order_id: undefined, signal_id: "mom:738561:7" });
    expect(evolve(undefined, e)?.order_id).toBe("mom:738561:7");
  });

  test("given nothing, when an event is not of an order's lifecycle, then there is no order", () => {
    expect(evolve(undefined, event("market.tick", {}, "shared"))).toBeUndefined();
    expect(evolve(undefined, cancelRefused())).toBeUndefined();
  });
});

describe("a status only moves forward", () => {
  test("given an order filled in part, when its submission arrives late, then it stays PARTIALLY_FILLED", () => {
    expect(given(validated(), filled(4, 129_000), submitted())?.status).toBe("PARTIALLY_FILLED");
  });

  test("given a FILLED order, when a cancel confirmation arrives late, then it stays FILLED (the first final status wins)", () => {
    expect(given(validated(), submitted(), filled(10, 129_000, "FILLED"), cancelled())?.status).toBe("FILLED");
  });

  test("given an OPEN order, when the cancel is refused by the venue, then the order is unchanged", () => {
    const open = given(validated(), submitted())!;
    expect(evolve(open, cancelRefused())).toBe(open);
  });

  test("given an order, when the pipeline rejects it, then it is REJECTED with the reason and message", () => {
    expect(given(validated(), rejected())).toMatchObject({ status: "REJECTED", reason_code: "MAX_QUANTITY", message: "refused: MAX_QUANTITY" });
  });
});

describe("fills add up", () => {
  test("given two partial fills, then the quantities and values (quantity × price, paise) add", () => {
    const order = given(validated(), submitted(), filled(4, 129_000), filled(6, 129_005, "FILLED"));
    expect(order).toMatchObject({ status: "FILLED", filled_quantity: 10, filled_value: 4 * 129_000 + 6 * 129_005 });
  });

  test("given a CANCELLED order, when a fill that crossed the cancel arrives, then it still counts", () => {
    expect(given(validated(), submitted(), cancelled(), filled(3, 129_000))).toMatchObject({ status: "CANCELLED", filled_quantity: 3 });
  });

  test("given a reason, when a later event gives none, then the reason stays", () => {
    expect(given(validated(), failed(), filled(1, 129_000))).toMatchObject({ status: "FAILED", reason_code: "VENUE_DOWN", message: "venue down" });
  });
});

describe("send deadlines", () => {
  test("given a placed order, when risk refuses a copy that came after its deadline, then it is FAILED SEND_TIMEOUT", () => {
    expect(evolve(placed(), deadlineRefusal())).toMatchObject({ status: "FAILED", reason_code: "SEND_TIMEOUT" });
  });

  test("given an order the relay ended FAILED SEND_TIMEOUT, when risk had judged a copy in time, then the pipeline takes it on (revived)", () => {
    const revived = evolve(timedOut(), validated());
    expect(revived).toMatchObject({ status: "PENDING", reason_code: null, message: null });
    expect(evolve(revived, submitted())).toMatchObject({ status: "OPEN", reason_code: null });
  });

  test("given a timed-out order, when another deadline refusal arrives, then nothing changes", () => {
    expect(evolve(timedOut(), deadlineRefusal())).toMatchObject({ status: "FAILED", reason_code: "SEND_TIMEOUT", message: "not sent in time" });
  });

  test("given an order under way, when a refusal of a late duplicate arrives, then it does not move", () => {
    const open = given(validated(), submitted())!;
    expect(evolve(open, deadlineRefusal())).toMatchObject({ status: "OPEN", reason_code: null, message: null });
  });
});

describe("a batch", () => {
  test("given known orders, when a batch folds, then only the orders it changes are returned, each as one-by-one evolution leaves it", () => {
    const mine = placed();
    const other = { ...placed(), order_id: "ord-2" };
    const batch = [submitted(), filled(10, 129_000, "FILLED")];
    const changed = foldBatch(new Map([[ORDER, mine], ["ord-2", other]]), batch);
    expect([...changed.keys()]).toEqual([ORDER]);
    expect(changed.get(ORDER)).toEqual(batch.reduce<Order | undefined>(evolve, mine));
  });

  test("given a batch, when an event is not new (already recorded) or twice in it, then it is folded at most once", () => {
    const fill = filled(4, 129_000);
    const old = filled(6, 129_000);
    const changed = foldBatch(new Map([[ORDER, placed()]]), [fill, fill, old], (id) => id !== old.id);
    expect(changed.get(ORDER)?.filled_quantity).toBe(4);
  });

  test("given a placed order, when a deadline refusal comes in the same batch as its validation, then the refusal is a late duplicate and changes nothing", () => {
    const changed = foldBatch(new Map([[ORDER, placed()]]), [validated(), deadlineRefusal()]);
    expect(changed.get(ORDER)).toMatchObject({ status: "PENDING", reason_code: null });
  });

  test("given a batch, when it holds events of shared topics or no order's lifecycle, then they change nothing", () => {
    expect(isOrderEvent(event("signal.validated", {}, "shared"))).toBe(false);
    expect(isOrderEvent(cancelRefused())).toBe(true);
    expect(foldBatch(new Map(), [event("signal.validated", {}, "shared"), cancelRefused()]).size).toBe(0);
  });
});

describe("a modify changes the order's quantity, type and prices, never its status", () => {
  const modifiedTo = (extra: Record<string, unknown>) => event("order.modified", { price: undefined, ...extra });
  const modifyRefused = () => event("order.modify_rejected", { reason_code: "MAX_QUANTITY", message: "quantity 10000 exceeds the limit 1000" });

  test("given an open order, when the venue modifies it, then it has the new quantity and price and is still OPEN", () => {
    const after = given(validated(), submitted(), modifiedTo({ quantity: 4, order_type: "LIMIT", price: 130_000 }))!;
    expect(after).toMatchObject({ status: "OPEN", quantity: 4, order_type: "LIMIT", price: 130_000, trigger_price: null });
  });

  test("given an open LIMIT order, when it is made MARKET, then its price is gone", () => {
    expect(given(validated(), submitted(), modifiedTo({ order_type: "MARKET" }))).toMatchObject({ order_type: "MARKET", price: null });
  });

  test("given a filled order, when its modify arrives late (another topic), then the order has the modified fields and stays FILLED", () => {
    const after = given(validated(), submitted(), filled(10, 130_000, "FILLED"), modifiedTo({ quantity: 10, order_type: "LIMIT", price: 130_000 }))!;
    expect(after).toMatchObject({ status: "FILLED", price: 130_000, filled_quantity: 10, filled_value: 1_300_000 });
  });

  test("given an open order, when a modify is refused, then nothing changes but the refusal is of its history", () => {
    const before = given(validated(), submitted())!;
    const refusal = modifyRefused();
    expect(evolve(before, refusal)).toEqual(before);
    expect(isOrderEvent(refusal)).toBe(true);
    expect(isOrderEvent(modifiedTo({ quantity: 1 }))).toBe(true);
    expect(foldBatch(new Map([[ORDER, before]]), [refusal]).size).toBe(0);
  });

  test("given nothing, when only a modify arrives, then there is no order to change", () => {
    expect(evolve(undefined, modifiedTo({ quantity: 1 }))).toBeUndefined();
  });
});
