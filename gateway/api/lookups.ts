/**
 * Names in a request that must exist: a broker that is running, an instrument the master knows.
 * An unknown one is a 404 naming it; a price off the tick grid or a quantity off the lot size is
 * a problem for a 422.
 */
import type { Broker } from "../../src/config.ts";
import type { Problem } from "../../src/errors.ts";
import type { Instrument } from "../../src/market/instruments.ts";
import { onTickGrid, toRupees, type Paise } from "../../src/money.ts";
import { ApiError, invalid } from "./errors.ts";
import type { Services } from "./services.ts";

/** The broker if it is one of ACTIVE_BROKERS; else a 404 "unknown broker". */
export function activeBroker(services: Services, name: string): Broker {
  const broker = services.activeBrokers.find((active) => active === name);
  if (!broker) throw new ApiError("NOT_FOUND", `unknown broker ${JSON.stringify(name)} (active: ${services.activeBrokers.join(", ")})`);
  return broker;
}

/** The instrument of a token; else a 404. */
export function knownInstrument(services: Services, token: number): Instrument {
  const instrument = services.instruments.byToken(token);
  if (!instrument) throw new ApiError("NOT_FOUND", `unknown instrument ${token}`);
  return instrument;
}

/**
 * A filter's instrument token the master knows; else a 422 naming the field (the request is
 * well-formed, but names no instrument).
 */
export function knownToken(services: Services, token: number, where: string): Instrument {
  const instrument = services.instruments.byToken(token);
  if (!instrument) throw invalid([{ path: "instrument_token", message: `instrument_token: unknown instrument ${token}` }], where);
  return instrument;
}

/** A problem when `price` (paise) at `path` is off the instrument's tick grid. */
export function offGrid(instrument: Instrument, path: string, price: Paise | undefined): Problem[] {
  if (price === undefined || onTickGrid(price, instrument.tick_size)) return [];
  return [{ path, message: `${path}: ${toRupees(price)} is not a multiple of ${instrument.tradingsymbol}'s tick size ${toRupees(instrument.tick_size)}` }];
}

/** A problem when `quantity` at `path` is not a multiple of the instrument's lot size. */
export function offLot(instrument: Instrument, path: string, quantity: number): Problem[] {
  if (quantity % instrument.lot_size === 0) return [];
  return [{ path, message: `${path}: ${quantity} is not a multiple of ${instrument.tradingsymbol}'s lot size ${instrument.lot_size}` }];
}
