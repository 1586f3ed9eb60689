/**
 * The client-side rate limit: deterministic over a fake clock (both windows, the queue bound,
 * close), and end to end against the fake Kite, counting arrivals per window at the server.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { KiteClient } from "../../../src/kite/rest/client.ts";
import { KiteError } from "../../../src/kite/rest/errors.ts";
import { RateLimiter, type Clock } from "../../../src/kite/rest/limiter.ts";
import type { FakeKite } from "../server/kite-server.ts";
import { kiteWithClient, marketBuy } from "./support.ts";

/** Time that moves only when told; sleepers wake in order. */
class FakeClock implements Clock {
  t = 0;
  private sleepers: Array<{ until: number; wake: () => void }> = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.sleepers.push({ until: this.t + ms, wake }));
  }
  async advance(ms: number): Promise<void> {
    this.t += ms;
    for (const s of this.sleepers.filter((x) => x.until <= this.t)) s.wake();
    this.sleepers = this.sleepers.filter((x) => x.until > this.t);
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }
}

function track(limiter: RateLimiter, n: number): { done: number[]; errors: unknown[] } {
  const out = { done: [] as number[], errors: [] as unknown[] };
  for (let i = 0; i < n; i++) limiter.acquire().then(() => out.done.push(i), (e) => out.errors.push(e));
  return out;
}

describe("RateLimiter over a fake clock", () => {
  test("10 per second: 25 requests go 10, 10, 5 a second apart, in order", async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter([{ limit: 10, ms: 1000 }], { clock });
    const r = track(limiter, 25);
    await clock.advance(0);
    expect(r.done).toHaveLength(10);
    await clock.advance(999);
    expect(r.done).toHaveLength(10);
    await clock.advance(1);
    expect(r.done).toHaveLength(20);
    await clock.advance(1000);
    expect(r.done).toEqual([...Array(25).keys()]);
  });

  test("AND 200 per minute: the minute window holds requests the second window would let through", async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter([{ limit: 10, ms: 1000 }, { limit: 200, ms: 60_000 }], { clock, maxQueue: 1000 });
    const r = track(limiter, 230);
    for (let s = 0; s < 30; s++) await clock.advance(1000);
    // 10 a second for 20 seconds, then nothing until the first second leaves the minute.
    expect(r.done).toHaveLength(200);
    await clock.advance(29_999);
    expect(r.done).toHaveLength(200);
    await clock.advance(1); // t = 60 s: second 0's ten leave the minute
    expect(r.done).toHaveLength(210);
    await clock.advance(1000);
    await clock.advance(1000);
    expect(r.done).toHaveLength(230);
  });

  test("the margin widens every window", async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter([{ limit: 2, ms: 1000 }], { clock, marginMs: 100 });
    const r = track(limiter, 3);
    await clock.advance(1000);
    expect(r.done).toHaveLength(2);
    await clock.advance(100);
    expect(r.done).toHaveLength(3);
  });

  test("past the queue bound: a clear throttled error, the rest still served", async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter([{ limit: 1, ms: 1000 }], { clock, maxQueue: 3, name: "order requests" });
    const r = track(limiter, 6);
    await clock.advance(0);
    // One goes at once; three wait; two are refused.
    expect(r.errors).toHaveLength(2);
    const e = r.errors[0] as KiteError;
    expect(e).toBeInstanceOf(KiteError);
    expect(e).toMatchObject({ kind: "throttled", canRetry: true });
    expect(e.message).toContain("order requests already waiting");
    for (let i = 0; i < 3; i++) await clock.advance(1000);
    expect(r.done).toEqual([0, 1, 2, 3]);
  });

  test("close refuses the waiting and later callers", async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter([{ limit: 1, ms: 1000 }], { clock });
    const r = track(limiter, 3);
    await clock.advance(0);
    limiter.close();
    await clock.advance(0);
    expect(r.done).toEqual([0]);
    expect(r.errors).toHaveLength(2);
    await expect(limiter.acquire()).rejects.toBeInstanceOf(KiteError);
  });
});

describe("against the fake Kite", () => {
  let fake: FakeKite;
  afterAll(() => fake?.stop());

  test("25 placeOrder calls at once: never more than 10 arrive in any second, none refused", async () => {
    const k = await kiteWithClient();
    fake = k.fake;
    const ids = await Promise.all(Array.from({ length: 25 }, () => k.client.placeOrder("regular", marketBuy)));
    expect(new Set(ids).size).toBe(25);
    const at = fake.orderRequests().map((r) => r.at);
    expect(at).toHaveLength(25);
    // Any 11 consecutive arrivals span at least a second: no 1 s window holds more than 10.
    for (let i = 0; i + 10 < at.length; i++) expect(at[i + 10]! - at[i]!).toBeGreaterThanOrEqual(1000);
    // And the first second did get its 10 (the limiter does not slow down more than it must).
    expect(at.filter((t) => t - at[0]! < 1000)).toHaveLength(10);
    expect(fake.rateLimited).toBe(0);
    expect(fake.orderRequests().every((r) => r.status === 200)).toBe(true);
  }, 20_000);

  test("the client's queue bound: past it, throttled, and nothing is sent for those", async () => {
    const clock = new FakeClock(); // never advanced: whoever waits, waits until close()
    const client = new KiteClient({ baseUrl: fake.url, apiKey: fake.apiKey, accessToken: fake.accessToken, clock, rateLimit: { perSecond: 1, maxQueue: 3 } });
    const before = fake.orderRequests().length;
    // allSettled at once, so no refusal goes unhandled while the first call is in flight.
    const all = Promise.allSettled(Array.from({ length: 6 }, () => client.placeOrder("regular", marketBuy)));
    client.close(); // the first is already on its way: close only refuses those still waiting
    const [first, ...rest] = await all;
    expect(first).toMatchObject({ status: "fulfilled", value: expect.stringMatching(/^\d{15}$/) });
    const why = rest.map((r) => (r.status === "rejected" ? (r.reason as KiteError) : undefined));
    expect(why.map((e) => e?.kind)).toEqual(["general", "general", "general", "throttled", "throttled"]);
    expect(why[0]!.message).toContain("closed");
    expect(fake.orderRequests().length - before).toBe(1);
  });
});
