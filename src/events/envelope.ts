/**
 * The event envelope of DESIGN.md: every message on every topic is one of these, as JSON.
 * Field order is fixed here, so encode(decode(bytes)) gives the same bytes back.
 */
import { z } from "zod";
import { AlphaError } from "../errors.ts";
import { ISO, ISO_MS, nowIso } from "./iso.ts";
import { EVENT_TYPES, PAYLOADS, type EventType, type PayloadOf } from "./payloads.ts";
import { newId } from "./ids.ts";
import { tickTime } from "./time.ts";

export const ENVELOPE_VERSION = 1;

export interface Envelope<T extends EventType = EventType> {
  /** UUIDv7: time-ordered, and the dedup key. */
  id: string;
  type: T;
  /** UTC, ISO 8601 with milliseconds. */
  ts: string;
  correlation_id: string;
  /** The parent event's id; null for an event that starts a chain. */
  causation_id: string | null;
  trace_id: string;
  /** The stage (or feed) that wrote it. */
  source: string;
  version: number;
  broker: "paper" | "zerodha" | "shared";
  /** The partition key it was sent with. */
  key: string;
  data: PayloadOf<T>;
}

export type AnyEnvelope = { [T in EventType]: Envelope<T> }[EventType];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const id = z.string().regex(UUID, "must be a UUID");

const envelopeSchema = z.object({
  id,
  type: z.enum(EVENT_TYPES as [EventType, ...EventType[]]),
  ts: z.iso.datetime({ offset: false, precision: 3 }),
  correlation_id: z.string().min(1),
  causation_id: z.string().min(1).nullable(),
  trace_id: z.string().min(1),
  source: z.string().min(1),
  version: z.number().int().positive(),
  broker: z.enum(["paper", "zerodha", "shared"]),
  key: z.string().min(1),
  data: z.unknown(),
});

/** A new UUIDv7, its time to the microsecond (src/events/ids.ts). */
export { newId };

export interface NewEvent<T extends EventType> {
  type: T;
  source: string;
  broker: Envelope["broker"];
  key: string;
  data: PayloadOf<T>;
}

function make<T extends EventType>(e: NewEvent<T>, ids: { correlation_id?: string; causation_id: string | null; trace_id?: string }, ts = nowIso()): Envelope<T> {
  const eventId = newId();
  // Field order is the wire order.
  return {
    id: eventId,
    type: e.type,
    ts,
    correlation_id: ids.correlation_id ?? eventId,
    causation_id: ids.causation_id,
    trace_id: ids.trace_id ?? eventId,
    source: e.source,
    version: ENVELOPE_VERSION,
    broker: e.broker,
    key: e.key,
    data: e.data,
  };
}

/**
 * An event that starts a chain: its correlation and trace ids are its own id.
 *
 * @example
 * const tick = createEvent({ type: "market.tick", source: "feed.simulated", broker: "shared", key: "738561", data });
 */
export function createEvent<T extends EventType>(e: NewEvent<T>, ids: { correlation_id?: string; trace_id?: string } = {}): Envelope<T> {
  return make(e, { ...ids, causation_id: null });
}

/**
 * An event caused by `parent`: same correlation and trace, causation = the parent's id, and the
 * parent's event time as its `ts` (a tick's exchange time): a stage's outputs carry the time of
 * what caused them, never the wall clock, so the same input gives the same output.
 *
 * @example
 * const signal = childOf(tick, { type: "signal.generated", source: "strategy", broker: "paper", key, data });
 */
export function childOf<T extends EventType>(parent: Envelope, e: NewEvent<T>): Envelope<T> {
  const ts = parent.type === "market.tick" ? tickTime(parent as Envelope<"market.tick">) : parent.ts;
  return make(e, { correlation_id: parent.correlation_id, causation_id: parent.id, trace_id: parent.trace_id }, ts);
}

/** The envelope as the bytes that go on the log. */
export const encodeEnvelope = (e: Envelope): string => JSON.stringify(e);

const decoder = new TextDecoder();

const text = (v: unknown): boolean => typeof v === "string" && v.length > 0;
const int = (v: unknown): v is number => Number.isSafeInteger(v);
const positive = (v: unknown): boolean => int(v) && v > 0;
const optional = (v: unknown, check: (v: unknown) => boolean): boolean => v === undefined || check(v);
const nonNegative = (v: unknown): boolean => int(v) && v >= 0;

/** The tick payload, checked by hand (the same rules as tickSchema). */
function fastTick(d: Record<string, unknown>): boolean {
  return (
    positive(d.instrument_token) &&
    positive(d.last_price) &&
    optional(d.last_quantity, nonNegative) &&
    optional(d.volume, nonNegative) &&
    optional(d.bid, positive) &&
    optional(d.ask, positive) &&
    typeof d.exchange_ts === "string" &&
    ISO.test(d.exchange_ts) &&
    text(d.feed)
  );
}

/**
 * True when zod would accept this envelope, decided without it: the head by hand, the payload by
 * hand for ticks (the bulk of the traffic) and by its zod schema otherwise. False means "ask zod":
 * it is never true where zod would say no.
 * @internal exported for the test that holds it to zod's answer
 */
export function fastValid(r: Record<string, unknown>): boolean {
  const type = r.type;
  if (
    !(
      typeof r.id === "string" &&
      UUID.test(r.id) &&
      typeof type === "string" &&
      Object.hasOwn(PAYLOADS, type) &&
      typeof r.ts === "string" &&
      ISO_MS.test(r.ts) &&
      text(r.correlation_id) &&
      (r.causation_id === null || text(r.causation_id)) &&
      text(r.trace_id) &&
      text(r.source) &&
      positive(r.version) &&
      (r.broker === "paper" || r.broker === "zerodha" || r.broker === "shared") &&
      text(r.key)
    )
  ) {
    return false;
  }
  const data = r.data;
  if (typeof data !== "object" || data === null || Array.isArray(data)) return false;
  if (type === "market.tick") return fastTick(data as Record<string, unknown>);
  return PAYLOADS[type as EventType].safeParse(data).success;
}

function reasonOf(issues: z.core.$ZodIssue[], prefix: string): string {
  return issues.map((i) => `${[prefix, ...i.path.map(String)].join(".")}: ${i.message}`).join("; ");
}

/** zod's answer alone. @internal for the test of {@link fastValid} */
export function zodValid(r: unknown): boolean {
  const head = envelopeSchema.safeParse(r);
  return head.success && PAYLOADS[head.data.type].safeParse(head.data.data).success;
}

/**
 * Parses and validates an envelope and its payload. Throws ENVELOPE_INVALID (or PAYLOAD_INVALID)
 * with a reason that names each bad field, e.g. "envelope.correlation_id: …".
 *
 * @example
 * const event = decodeEnvelope(message.value);
 * if (event.type === "market.tick") event.data.last_price; // typed
 */
export function decodeEnvelope(bytes: Uint8Array | string): AnyEnvelope {
  const text = typeof bytes === "string" ? bytes : decoder.decode(bytes);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AlphaError("ENVELOPE_INVALID", `envelope: not JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new AlphaError("ENVELOPE_INVALID", "envelope: must be a JSON object");
  }
  // The common case (a well-formed envelope; a tick) is checked by hand, many times faster than
  // zod; anything the fast check does not accept goes through zod, which decides and explains.
  if (fastValid(raw as Record<string, unknown>)) return raw as AnyEnvelope;
  const head = envelopeSchema.safeParse(raw);
  if (!head.success) throw new AlphaError("ENVELOPE_INVALID", reasonOf(head.error.issues, "envelope"), { details: head.error.issues });
  const data = PAYLOADS[head.data.type].safeParse(head.data.data);
  if (!data.success) {
    throw new AlphaError("PAYLOAD_INVALID", reasonOf(data.error.issues, `envelope.data(${head.data.type})`), { details: data.error.issues });
  }
  // The parsed object itself is returned (not zod's copy), so key order and any fields a newer
  // writer added survive, and re-encoding gives the same bytes.
  return raw as AnyEnvelope;
}
