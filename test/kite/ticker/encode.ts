/**
 * Ticks → Kite binary frames, for tests only (the fake server sends these). Written from the
 * layout in Kite's docs, independently of the decoder, so a round trip checks both. The packet
 * kind follows from the tick: ltp → 8 bytes; INDICES quote/full → 28/32; quote → 44; full →
 * 184, or 164 (the pre-2018 layout) when the tick has no `oi`.
 */
import type { KiteDepthLevel, KiteTick } from "../../../src/kite/ticker/types.ts";

/** A heartbeat: Kite sends one byte every second. */
export const HEARTBEAT = new Uint8Array([0]);

export function encodeFrame(ticks: readonly KiteTick[]): Uint8Array {
  const packets = ticks.map(encodePacket);
  const out = new Uint8Array(2 + packets.reduce((n, p) => n + 2 + p.byteLength, 0));
  const view = new DataView(out.buffer);
  view.setUint16(0, packets.length);
  let at = 2;
  for (const p of packets) {
    view.setUint16(at, p.byteLength);
    out.set(p, at + 2);
    at += 2 + p.byteLength;
  }
  return out;
}

export function encodePacket(t: KiteTick): Uint8Array {
  const index = t.segment === "INDICES";
  const length =
    t.mode === "ltp" ? 8 : index ? (t.mode === "quote" ? 28 : 32) : t.mode === "quote" ? 44 : t.oi === undefined ? 164 : 184;
  const out = new Uint8Array(length);
  const v = new DataView(out.buffer);
  const u32 = (at: number, n = 0) => v.setUint32(at, n);
  u32(0, t.instrument_token);
  u32(4, t.last_price);
  if (length === 8) return out;
  const o = t.ohlc ?? { open: 0, high: 0, low: 0, close: 0 };
  if (index) {
    u32(8, o.high);
    u32(12, o.low);
    u32(16, o.open);
    u32(20, o.close);
    v.setInt32(24, t.change ?? 0);
    if (length === 32) u32(28, seconds(t.exchange_timestamp));
    return out;
  }
  u32(8, t.last_quantity);
  u32(12, t.average_price);
  u32(16, t.volume);
  u32(20, t.buy_quantity);
  u32(24, t.sell_quantity);
  u32(28, o.open);
  u32(32, o.high);
  u32(36, o.low);
  u32(40, o.close);
  if (length === 44) return out;
  let depthAt = 44;
  if (length === 184) {
    u32(44, seconds(t.last_trade_time));
    u32(48, t.oi);
    u32(52, t.oi_day_high);
    u32(56, t.oi_day_low);
    u32(60, seconds(t.exchange_timestamp));
    depthAt = 64;
  }
  const levels: (KiteDepthLevel | undefined)[] = [...pad(t.depth?.buy), ...pad(t.depth?.sell)];
  levels.forEach((l, i) => {
    const at = depthAt + i * 12;
    u32(at, l?.quantity);
    u32(at + 4, l?.price);
    v.setUint16(at + 8, l?.orders ?? 0);
  });
  return out;
}

function pad(levels: KiteDepthLevel[] | undefined): (KiteDepthLevel | undefined)[] {
  return Array.from({ length: 5 }, (_, i) => levels?.[i]);
}

function seconds(iso: string | undefined): number {
  return iso === undefined ? 0 : Date.parse(iso) / 1000;
}
