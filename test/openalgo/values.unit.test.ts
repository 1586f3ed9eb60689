/**
 * OpenAlgo's values at our edge: prices in rupees (strings or numbers) become exact paise or are
 * refused, never rounded; quantities are whole multiples of the lot; symbols in OpenAlgo's format
 * resolve to our instruments and back.
 */
import { describe, expect, test } from "bun:test";
import { OaError } from "../../gateway/openalgo/errors.ts";
import { instrumentFor, openAlgoExchange, openAlgoSymbol, symbolIndex } from "../../gateway/openalgo/symbols.ts";
import { countOf, priceOf, quantityOf, rupeesToPaise, signedCountOf } from "../../gateway/openalgo/values.ts";
import { NSE_INSTRUMENTS, type Instrument } from "../../src/market/instruments.ts";

const infy = NSE_INSTRUMENTS.find((i) => i.tradingsymbol === "INFY")!;
const niftyCall: Instrument = { instrument_token: 12345, exchange: "NFO", tradingsymbol: "NIFTY2432820800CE", name: "NIFTY", tick_size: 5, lot_size: 50, reference_price: 10000, segment: "NFO-OPT", instrument_type: "CE", expiry: "2024-03-28", strike: "20800" };
const vedlPut: Instrument = { ...niftyCall, instrument_token: 12346, tradingsymbol: "VEDL24APR292.5PE", name: "VEDL", instrument_type: "PE", expiry: "2024-04-25", strike: "292.50", lot_size: 2000 };
const bankFut: Instrument = { ...niftyCall, instrument_token: 12347, tradingsymbol: "BANKNIFTY24APRFUT", name: "BANKNIFTY", instrument_type: "FUT", expiry: "2024-04-24", strike: "0", lot_size: 15 };
const nifty50: Instrument = { instrument_token: 256265, exchange: "NSE", tradingsymbol: "NIFTY 50", name: "NIFTY 50", tick_size: 0, lot_size: 0, reference_price: 2200000, segment: "INDICES" };
const niftyIt: Instrument = { ...nifty50, instrument_token: 259849, tradingsymbol: "NIFTY IT", name: "NIFTY IT" };

const message = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(OaError);
    expect((err as OaError).status).toBe(400);
    return (err as Error).message;
  }
  throw new Error("expected a 400");
};

describe("prices in rupees → paise", () => {
  test("strings and numbers, trailing zeros or not, are the same exact paise", () => {
    for (const v of ["850.5", "850.50", "850.500", 850.5, " 850.50 "]) expect(rupeesToPaise(v, "price")).toBe(85050);
    expect(rupeesToPaise("0", "price")).toBe(0);
    expect(rupeesToPaise(1234567.89, "price")).toBe(123456789);
    expect(rupeesToPaise("0.05", "price")).toBe(5);
  });

  test("finer than a paisa, negative, exponents and words are refused, naming the field", () => {
    expect(message(() => rupeesToPaise("850.505", "price"))).toBe("price: 850.505 is finer than a paisa; prices are never rounded");
    expect(message(() => rupeesToPaise(0.1 + 0.2, "price"))).toContain("finer than a paisa");
    expect(message(() => rupeesToPaise("-1", "trigger_price"))).toStartWith("trigger_price: must be an amount in rupees");
    expect(message(() => rupeesToPaise(1e-7, "price"))).toStartWith("price: must be an amount");
    expect(message(() => rupeesToPaise("12abc", "price"))).toStartWith("price: must be an amount");
  });

  test("a price must be on the instrument's tick grid; 0 and empty are no price", () => {
    expect(priceOf("1500.05", infy, "price")).toBe(150005);
    expect(priceOf("0", infy, "price")).toBeUndefined();
    expect(priceOf(0, infy, "price")).toBeUndefined();
    expect(priceOf(undefined, infy, "price")).toBeUndefined();
    expect(message(() => priceOf("1500.03", infy, "price"))).toBe("price: 1500.03 is not a multiple of INFY's tick size 0.05; prices are never rounded");
  });
});

describe("quantities", () => {
  test("whole numbers as strings or numbers, multiples of the lot", () => {
    expect(quantityOf("10", infy)).toBe(10);
    expect(quantityOf(10, infy)).toBe(10);
    expect(quantityOf("100", niftyCall)).toBe(100);
    expect(message(() => quantityOf("75", niftyCall))).toBe("quantity: 75 is not a multiple of NIFTY2432820800CE's lot size 50");
    expect(message(() => quantityOf("1.5", infy))).toStartWith("quantity: must be a whole number");
    expect(message(() => quantityOf("0", infy))).toBe("quantity: must be at least 1, got 0");
    expect(message(() => quantityOf(undefined, infy))).toStartWith("quantity: must be a whole number");
    expect(countOf("0", "quantity", 0)).toBe(0);
  });

  test("a target position may be negative (short) or zero (flat)", () => {
    expect(signedCountOf("-5", "position_size")).toBe(-5);
    expect(signedCountOf(0, "position_size")).toBe(0);
    expect(signedCountOf("-0", "position_size")).toBe(0);
    expect(message(() => signedCountOf("five", "position_size"))).toStartWith("position_size: must be a whole number");
  });
});

describe("OpenAlgo's symbols", () => {
  test("equities keep their symbol; derivatives are <name><DDMMMYY>[strike]<FUT|CE|PE>; indices have short names on <exchange>_INDEX", () => {
    expect(openAlgoSymbol(infy)).toBe("INFY");
    expect(openAlgoSymbol(niftyCall)).toBe("NIFTY28MAR2420800CE");
    expect(openAlgoSymbol(vedlPut)).toBe("VEDL25APR24292.5PE");
    expect(openAlgoSymbol(bankFut)).toBe("BANKNIFTY24APR24FUT");
    expect([openAlgoExchange(nifty50), openAlgoSymbol(nifty50)]).toEqual(["NSE_INDEX", "NIFTY"]);
    expect(openAlgoSymbol(niftyIt)).toBe("NIFTYIT");
  });

  test("the index resolves OpenAlgo's names to our instruments, and refuses others naming them", () => {
    const symbols = symbolIndex([...NSE_INSTRUMENTS, niftyCall, vedlPut, bankFut, nifty50]);
    expect(symbols.resolve("NFO", "NIFTY28MAR2420800CE")?.instrument_token).toBe(12345);
    expect(symbols.resolve("NSE_INDEX", "NIFTY")?.instrument_token).toBe(256265);
    expect(symbols.resolve("NSE", "NIFTY 50")).toBeUndefined();
    expect(instrumentFor(symbols, "NSE", "INFY")).toBe(infy);
    expect(message(() => instrumentFor(symbols, "NSE", "NOPE"))).toBe('symbol: unknown symbol "NOPE" on "NSE"');
    expect(symbols.entries().length).toBe(NSE_INSTRUMENTS.length + 4);
  });
});
