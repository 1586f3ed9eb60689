/**
 * The Kite ticker's binary frames → ticks. Pure bytes in, plain data out: this is the only module
 * that knows the layout (https://kite.trade/docs/connect/v3/websocket/#message-structure).
 *
 * A frame is big-endian: a uint16 packet count, then each packet as a uint16 length and its
 * bytes. The length alone says what a packet holds, as in Kite's own clients:
 *
 * | bytes | packet |
 * |---|---|
 * | 8   | ltp: token, last price |
 * | 28  | index quote: token, last, high, low, open, close, net change (int32) |
 * | 32  | index full: the same + exchange timestamp |
 * | 44  | quote: token, last, last qty, average, volume, buy qty, sell qty, open, high, low, close |
 * | 184 | full: quote + last trade time, oi, oi day high, oi day low, exchange timestamp, depth |
 * | 164 | full before 2018: quote + depth (the forum's sample frame has it; still decoded) |
 *
 * Depth is 5 buy then 5 sell levels of 12 bytes: quantity uint32, price uint32, orders uint16,
 * 2 bytes of padding. Prices and quantities are unsigned; only the index net change is signed.
 *
 * A frame that does not add up (a count or length running past the end, an unknown length,
 * bytes left over, an unknown segment) throws PAYLOAD_INVALID naming the offset: a misread frame
 * would put wrong prices into the pipeline, which is worse than losing one frame.
 */
import { AlphaError } from "../../errors.ts";
import { KITE_SEGMENTS, priceDivisorOf, type DecodedFrame, type KiteDepthLevel, type KiteSegment, type KiteTick } from "./types.ts";

const LTP = 8;
const INDEX_QUOTE = 28;
const INDEX_FULL = 32;
const QUOTE = 44;
const FULL_LEGACY = 164;
const FULL = 184;
const DEPTH_LEVELS = 5;
const DEPTH_LEVEL_BYTES = 12;

/**
 * Decodes one binary WebSocket frame.
 *
 * @example
 * decodeFrame(new Uint8Array([0]));                   // { kind: "heartbeat" }
 * decodeFrame(bytes).ticks[0]?.last_price;            // 245135 (paise) for ₹2451.35 on NSE
 */
export function decodeFrame(bytes: Uint8Array): DecodedFrame {
  // Kite keeps the connection alive with a 1-byte frame every second; 0 bytes means the same.
  if (bytes.byteLength < 2) return { kind: "heartbeat" };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint16(0);
  const ticks: KiteTick[] = [];
  let offset = 2;
  for (let i = 0; i < count; i++) {
    if (offset + 2 > view.byteLength) {
      throw malformed(`packet ${i + 1} of ${count}: no length at offset ${offset}`, offset, bytes);
    }
    const length = view.getUint16(offset);
    const start = offset + 2;
    if (start + length > view.byteLength) {
      throw malformed(`packet ${i + 1} of ${count} at offset ${start} declares ${length} bytes, ${view.byteLength - start} remain`, start, bytes);
    }
    ticks.push(decodePacket(new DataView(bytes.buffer, bytes.byteOffset + start, length), start, bytes));
    offset = start + length;
  }
  if (offset !== view.byteLength) {
    throw malformed(`${view.byteLength - offset} bytes left over at offset ${offset} after ${count} packets`, offset, bytes);
  }
  return { kind: "ticks", ticks };
}

function decodePacket(p: DataView, at: number, frame: Uint8Array): KiteTick {
  const length = p.byteLength;
  if (![LTP, INDEX_QUOTE, INDEX_FULL, QUOTE, FULL_LEGACY, FULL].includes(length)) {
    throw malformed(`unknown packet length ${length} at offset ${at}`, at, frame);
  }
  const token = p.getUint32(0);
  const code = token & 0xff;
  const segment: KiteSegment | undefined = KITE_SEGMENTS[code as keyof typeof KITE_SEGMENTS];
  // Without the segment the price divisor is a guess; a guessed price is a wrong price.
  if (segment === undefined) throw malformed(`instrument ${token} at offset ${at} has unknown segment ${code}`, at, frame);
  const base = {
    instrument_token: token,
    segment,
    tradable: segment !== "INDICES",
    price_divisor: priceDivisorOf(segment),
    last_price: p.getUint32(4),
  };
  if (length === LTP) return { ...base, mode: "ltp" };

  if (length === INDEX_QUOTE || length === INDEX_FULL) {
    const tick: KiteTick = {
      ...base,
      mode: length === INDEX_QUOTE ? "quote" : "full",
      ohlc: { open: p.getUint32(16), high: p.getUint32(8), low: p.getUint32(12), close: p.getUint32(20) },
      change: p.getInt32(24),
    };
    if (length === INDEX_FULL) setTime(tick, "exchange_timestamp", p.getUint32(28));
    return tick;
  }

  const tick: KiteTick = {
    ...base,
    mode: length === QUOTE ? "quote" : "full",
    last_quantity: p.getUint32(8),
    average_price: p.getUint32(12),
    volume: p.getUint32(16),
    buy_quantity: p.getUint32(20),
    sell_quantity: p.getUint32(24),
    ohlc: { open: p.getUint32(28), high: p.getUint32(32), low: p.getUint32(36), close: p.getUint32(40) },
  };
  // Integer subtraction in one unit is exact; with no close there is no change to speak of.
  const close = p.getUint32(40);
  if (close !== 0) tick.change = base.last_price - close;
  if (length === QUOTE) return tick;

  let depthAt = QUOTE;
  if (length === FULL) {
    setTime(tick, "last_trade_time", p.getUint32(44));
    tick.oi = p.getUint32(48);
    tick.oi_day_high = p.getUint32(52);
    tick.oi_day_low = p.getUint32(56);
    setTime(tick, "exchange_timestamp", p.getUint32(60));
    depthAt = 64;
  }
  tick.depth = { buy: depthSide(p, depthAt), sell: depthSide(p, depthAt + DEPTH_LEVELS * DEPTH_LEVEL_BYTES) };
  return tick;
}

function depthSide(p: DataView, from: number): KiteDepthLevel[] {
  const levels: KiteDepthLevel[] = [];
  for (let i = 0; i < DEPTH_LEVELS; i++) {
    const at = from + i * DEPTH_LEVEL_BYTES;
    levels.push({ quantity: p.getUint32(at), price: p.getUint32(at + 4), orders: p.getUint16(at + 8) });
  }
  return levels;
}

/** Kite sends unix seconds, and 0 for "not known"; the latter is left out rather than 1970. */
function setTime(tick: KiteTick, field: "last_trade_time" | "exchange_timestamp", seconds: number): void {
  if (seconds !== 0) tick[field] = new Date(seconds * 1000).toISOString();
}

function malformed(message: string, offset: number, frame: Uint8Array): AlphaError {
  return new AlphaError("PAYLOAD_INVALID", `malformed Kite ticker frame: ${message}`, {
    details: { offset, frame_bytes: frame.byteLength },
  });
}
