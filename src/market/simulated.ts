/**
 * A deterministic market: for a seed, the same sequence of prices every run. Each step moves
 * every instrument by a whole number of ticks (a random walk on the tick grid, with a little
 * volatility clustering), so every price is one an exchange could print.
 */
import type { Tick } from "../events/payloads.ts";
import type { Instrument } from "./instruments.ts";

/** mulberry32: a small, fast, seedable PRNG; ample for simulated prices. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface State {
  instrument: Instrument;
  price: number;
  volume: number;
}

/**
 * @example
 * const market = new RandomWalk(NSE_INSTRUMENTS, 42);
 * const ticks = market.step(new Date()); // one tick per instrument that traded this step
 */
export class RandomWalk {
  private readonly random: () => number;
  private readonly states: State[];

  constructor(instruments: readonly Instrument[], seed: number) {
    this.random = prng(seed);
    this.states = instruments.map((instrument) => ({ instrument, price: instrument.reference_price, volume: 0 }));
  }

  /** Advances the market one step; instruments trade with probability 0.8 each step. */
  step(now: Date): Tick[] {
    const ticks: Tick[] = [];
    const ts = now.toISOString();
    for (const s of this.states) {
      if (this.random() >= 0.8) continue;
      const tick = s.instrument.tick_size;
      // About 2 bps of the price per step, in whole ticks; at least one tick of room.
      const scale = Math.max(1, Math.round((s.price * 0.0002) / tick));
      const move = Math.round((this.random() + this.random() + this.random() - 1.5) * 2 * scale);
      s.price = Math.max(tick, s.price + move * tick);
      const lastQuantity = s.instrument.lot_size * (1 + Math.floor(this.random() * 50));
      s.volume += lastQuantity;
      ticks.push({
        instrument_token: s.instrument.instrument_token,
        last_price: s.price,
        last_quantity: lastQuantity,
        volume: s.volume,
        bid: Math.max(tick, s.price - tick),
        ask: s.price + tick,
        exchange_ts: ts,
        feed: "simulated",
      });
    }
    return ticks;
  }
}
