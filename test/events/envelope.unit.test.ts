import { describe, expect, test } from "bun:test";
import { childOf, createEvent, decodeEnvelope, encodeEnvelope, fastValid, zodValid, type Envelope } from "../../src/events/envelope.ts";
import { AlphaError } from "../../src/errors.ts";

const tick = () =>
  createEvent({
    type: "market.tick",
    source: "feed.simulated",
    broker: "shared",
    key: "738561",
    data: { instrument_token: 738561, last_price: 245135, volume: 1200, exchange_ts: "2026-11-23T09:15:00.000Z", feed: "simulated" },
  });

const errorOf = (input: unknown): AlphaError => {
  try {
    decodeEnvelope(typeof input === "string" ? input : JSON.stringify(input));
  } catch (err) {
    expect(err).toBeInstanceOf(AlphaError);
    return err as AlphaError;
  }
  throw new Error("expected decodeEnvelope to throw");
};

describe("envelope", () => {
  test("a new event has a UUIDv7 id and starts its own chain", () => {
    const e = tick();
    expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(e.correlation_id).toBe(e.id);
    expect(e.trace_id).toBe(e.id);
    expect(e.causation_id).toBeNull();
    expect(e.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test("ids are time-ordered", () => {
    const ids = Array.from({ length: 100 }, () => tick().id);
    expect([...ids].sort()).toEqual(ids);
  });

  test("a child inherits correlation and trace, and takes its parent's id as causation", () => {
    const parent = tick();
    const child = childOf(parent, {
      type: "signal.generated",
      source: "strategy",
      broker: "paper",
      key: "738561",
      data: { signal_id: "s1", strategy_id: "momentum_fast", instrument_token: 738561, side: "BUY", quantity: 1, order_type: "MARKET" },
    });
    const grandchild = childOf(child, { ...child, type: "signal.validated", data: { ...child.data, checks: [] } });
    expect(child.correlation_id).toBe(parent.id);
    expect(child.trace_id).toBe(parent.trace_id);
    expect(child.causation_id).toBe(parent.id);
    expect(grandchild.correlation_id).toBe(parent.id);
    expect(grandchild.causation_id).toBe(child.id);
  });

  test("exact JSON round trip", () => {
    const bytes = encodeEnvelope(tick());
    expect(encodeEnvelope(decodeEnvelope(bytes))).toBe(bytes);
    expect(encodeEnvelope(decodeEnvelope(new TextEncoder().encode(bytes)))).toBe(bytes);
  });

  test("a fixed envelope decodes to exactly these fields", () => {
    const text =
      '{"id":"01936b2e-7c4a-7b3e-9f1a-2b3c4d5e6f70","type":"market.tick","ts":"2026-11-23T09:15:00.123Z",' +
      '"correlation_id":"c","causation_id":null,"trace_id":"t","source":"feed.replay","version":1,"broker":"shared",' +
      '"key":"2953217","data":{"instrument_token":2953217,"last_price":412005,"exchange_ts":"2026-11-23T09:15:00.000Z","feed":"replay"}}';
    const e = decodeEnvelope(text) as Envelope<"market.tick">;
    expect(e.data.last_price).toBe(412005);
    expect(e.key).toBe("2953217");
    expect(encodeEnvelope(e)).toBe(text);
  });

  test("malformed envelopes are rejected with a reason naming the field", () => {
    const good = JSON.parse(encodeEnvelope(tick()));
    expect(errorOf("{not json").message).toContain("not JSON");
    expect(errorOf([1, 2]).message).toContain("must be a JSON object");
    const { correlation_id: _, ...noCorrelation } = good;
    expect(errorOf(noCorrelation).message).toContain("envelope.correlation_id");
    expect(errorOf({ ...good, id: "42" }).message).toContain("envelope.id");
    expect(errorOf({ ...good, type: "tick.happened" }).message).toContain("envelope.type");
    expect(errorOf({ ...good, broker: "nse" }).message).toContain("envelope.broker");
    expect(errorOf({ ...good, ts: "yesterday" }).message).toContain("envelope.ts");
    expect(errorOf({ ...good, ts: "2026-11-23T09:15:00.123+05:30" }).message).toContain("envelope.ts");
    expect(errorOf({ ...good, id: "42" }).code).toBe("ENVELOPE_INVALID");
  });

  test("a payload that does not fit its type is rejected naming the payload field", () => {
    const good = JSON.parse(encodeEnvelope(tick()));
    const err = errorOf({ ...good, data: { ...good.data, last_price: 2451.35 } });
    expect(err.code).toBe("PAYLOAD_INVALID");
    expect(err.message).toContain("envelope.data(market.tick).last_price");
    expect(errorOf({ ...good, data: { ...good.data, instrument_token: "RELIANCE" } }).message).toContain("instrument_token");
  });
});

describe("envelope: the hand-written fast check agrees with zod", () => {
  const base = () => JSON.parse(encodeEnvelope(tick())) as Record<string, unknown>;
  const order = () =>
    JSON.parse(
      encodeEnvelope(
        childOf(tick(), {
          type: "order.filled",
          source: "execution",
          broker: "paper",
          key: "738561",
          data: {
            order_id: "o1", signal_id: "s1", strategy_id: "m", instrument_token: 738561, side: "BUY", quantity: 2, order_type: "MARKET",
            fill_id: "f1", fill_quantity: 2, fill_price: 100, filled_quantity: 2, fees: 0, status: "FILLED",
          },
        }),
      ),
    ) as Record<string, unknown>;
  const values: unknown[] = [
    undefined, null, "", "x", 0, -1, 1, 1.5, 2 ** 53, -(2 ** 53), "1", true, [], {}, [1],
    "2026-11-23T09:15:00.000Z", "2026-11-23T09:15:00Z", "2026-11-23T09:15:00.1234Z", "2026-02-29T00:00:00.000Z", "2024-02-29T00:00:00.000Z",
    "2026-04-31T00:00:00.000Z", "2026-11-23T24:00:00.000Z", "2026-11-23T09:15:00.000+05:30", "2026-11-23 09:15:00.000Z", "2026-11-23T09:15:00.000z",
    "0192f3c4-1234-7abc-8def-0123456789ab", "0192F3C4-1234-7ABC-8DEF-0123456789AB", "0192f3c4-1234-7abc-8def-0123456789a", "paper", "zerodha", "shared",
    "market.tick", "order.filled", "market.ticks", "BUY", "FILLED",
  ];
  const mutants = function* () {
    for (const make of [base, order]) {
      yield make();
      const top = make();
      for (const field of Object.keys(top)) {
        for (const v of values) {
          const m = make();
          if (v === undefined) delete m[field];
          else m[field] = v;
          yield m;
        }
      }
      for (const field of Object.keys(top.data as object)) {
        for (const v of values) {
          const m = make();
          const data = m.data as Record<string, unknown>;
          if (v === undefined) delete data[field];
          else data[field] = v;
          yield m;
        }
      }
      for (const field of ["last_quantity", "volume", "bid", "ask", "price", "extra"]) {
        for (const v of values) {
          const m = make();
          (m.data as Record<string, unknown>)[field] = v;
          yield m;
        }
      }
    }
  };

  test("it accepts only what zod accepts, and most valid envelopes", () => {
    let accepted = 0;
    let n = 0;
    for (const m of mutants()) {
      n++;
      const fast = fastValid(m);
      if (fast) {
        accepted++;
        if (!zodValid(m)) throw new Error(`fast check accepted what zod rejects: ${JSON.stringify(m)}`);
      }
      // decodeEnvelope (fast check, then zod) gives zod's verdict either way.
      let decoded = true;
      try {
        decodeEnvelope(JSON.stringify(m));
      } catch {
        decoded = false;
      }
      expect(decoded).toBe(zodValid(m));
    }
    expect(n).toBeGreaterThan(1_000);
    expect(accepted).toBeGreaterThan(100);
  });

  test("a well-formed tick and fill take the fast path", () => {
    expect(fastValid(base())).toBe(true);
    expect(fastValid(order())).toBe(true);
  });
});
