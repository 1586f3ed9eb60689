/**
 * An instrument master over the built-in NSE list, for services built in tests.
 */
import { NSE_INSTRUMENTS } from "../../src/market/instruments.ts";

export const nseInstruments = {
  all: () => NSE_INSTRUMENTS,
  byToken: (token: number) => NSE_INSTRUMENTS.find((i) => i.instrument_token === token),
  bySymbol: (exchange: string, symbol: string) => NSE_INSTRUMENTS.find((i) => i.exchange === exchange && i.tradingsymbol === symbol),
};
