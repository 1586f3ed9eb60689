/**
 * POST /ticks's hand-written body parser: whatever it accepts, zod accepts, with the same result;
 * and it accepts the bodies a feed sends.
 */
import { expect, test } from "bun:test";
import { fastTicksBody, ticksBody } from "../../gateway/api/schemas.ts";

const tick = () => ({ instrument_token: 738561, last_price: "2451.35", last_quantity: 5, volume: 1200, bid: "2451.30", ask: "2451.40", exchange_ts: "2026-12-02T09:15:00.123+05:30" });

const values: unknown[] = [
  undefined, null, "", "x", 0, -1, 1, 1.5, 2 ** 32, 2 ** 32 - 1, 2 ** 53, "1", "0", "0.00", "0.01", "2451.355", "2451.3", " 2451.35", "-1.00", "1e3",
  "12345678901234.00", "1234567890123.99", true, [], {}, [1],
  "2026-12-02T09:15:00Z", "2026-12-02T09:15:00.1Z", "2026-02-30T09:15:00Z", "2024-02-29T09:15:00+05:30", "2026-12-02T09:15:00+24:00", "2026-12-02 09:15:00Z", "2026-12-02T09:15:00",
];

function* mutants(): Generator<unknown> {
  yield { ticks: [tick()] };
  yield { ticks: [{ instrument_token: 1, last_price: "1.00" }] };
  yield { ticks: [] };
  yield { ticks: Array.from({ length: 1_000 }, tick) };
  yield { ticks: Array.from({ length: 1_001 }, tick) };
  yield { ticks: [tick()], extra: 1 };
  yield { ticks: "no" };
  yield [tick()];
  yield null;
  for (const field of [...Object.keys(tick()), "unknown_field"]) {
    for (const v of values) {
      const t: Record<string, unknown> = tick();
      if (v === undefined) delete t[field];
      else t[field] = v;
      yield { ticks: [tick(), t] };
    }
  }
}

test("what the fast parser accepts, zod accepts, and gives the same ticks", () => {
  let accepted = 0;
  let zodAccepted = 0;
  let n = 0;
  for (const body of mutants()) {
    n++;
    const fast = fastTicksBody(body);
    const slow = ticksBody.safeParse(body);
    if (slow.success) zodAccepted++;
    if (fast === undefined) continue;
    accepted++;
    if (!slow.success) throw new Error(`fast parser accepted what zod rejects: ${JSON.stringify(body).slice(0, 300)}`);
    expect(fast).toEqual(slow.data);
  }
  expect(n).toBeGreaterThan(250);
  // Everything zod accepts here takes the fast path too (none of these needs zod to be sure).
  expect(accepted).toBe(zodAccepted);
});

test("the bodies a feed sends take the fast path", () => {
  expect(fastTicksBody({ ticks: [tick(), { instrument_token: 1, last_price: "1.05", exchange_ts: "2026-12-02T03:45:00.000Z" }] })).toEqual({
    ticks: [
      { instrument_token: 738561, last_price: 245135, last_quantity: 5, volume: 1200, bid: 245130, ask: 245140, exchange_ts: "2026-12-02T09:15:00.123+05:30" },
      { instrument_token: 1, last_price: 105, exchange_ts: "2026-12-02T03:45:00.000Z" },
    ],
  });
});
