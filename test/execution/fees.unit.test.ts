import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../src/errors.ts";
import { DEFAULT_FEE_SCHEDULE, fees, feesOnTurnover, parseExchangeConfig, parseFeeSchedule } from "../../src/execution/index.ts";

describe("fees: Zerodha equity intraday defaults, each component rounded half up to the paisa", () => {
  test("BUY 10 RELIANCE at ₹1290.45", () => {
    // turnover = 10 × 129_045 = 1_290_450 paise (₹12,904.50)
    // brokerage 0.03%      = 1_290_450 × 30_000 / 1e8 = 387.135    → 387 (below the ₹20 cap)
    // STT                  = 0 on the buy side
    // exchange 0.00297%    = 1_290_450 ×  2_970 / 1e8 = 38.326365  → 38
    // SEBI ₹10/crore       = 1_290_450 ×    100 / 1e8 = 1.2904     → 1
    // stamp 0.003% (buy)   = 1_290_450 ×  3_000 / 1e8 = 38.7135    → 39
    // GST 18% of 387+38+1  = 426 × 0.18 = 76.68                      → 77
    // total                = 387 + 0 + 38 + 1 + 39 + 77             = 542
    expect(fees("BUY", 129_045, 10)).toEqual({ brokerage: 387, stt: 0, exchange: 38, sebi: 1, stamp: 39, gst: 77, total: 542 });
  });

  test("SELL 10 RELIANCE at ₹1290.45: STT instead of stamp duty", () => {
    // STT 0.025% (sell)    = 1_290_450 × 25_000 / 1e8 = 322.6125   → 323
    // stamp                = 0 on the sell side
    // total                = 387 + 323 + 38 + 1 + 0 + 77            = 826
    expect(fees("SELL", 129_045, 10)).toEqual({ brokerage: 387, stt: 323, exchange: 38, sebi: 1, stamp: 0, gst: 77, total: 826 });
  });

  test("SELL 100 TCS at ₹4120.05: brokerage capped at ₹20", () => {
    // turnover = 100 × 412_005 = 41_200_500 paise (₹4,12,005)
    // brokerage 0.03%      = 12_360.15 → capped at 2_000
    // STT 0.025%           = 41_200_500 × 25_000 / 1e8 = 10_300.125 → 10_300
    // exchange             = 41_200_500 ×  2_970 / 1e8 = 1_223.65485 → 1_224
    // SEBI                 = 41_200_500 ×    100 / 1e8 = 41.2005     → 41
    // GST                  = (2_000 + 1_224 + 41) × 0.18 = 587.7      → 588
    // total                = 2_000 + 10_300 + 1_224 + 41 + 0 + 588   = 14_153
    expect(fees("SELL", 412_005, 100)).toEqual({ brokerage: 2_000, stt: 10_300, exchange: 1_224, sebi: 41, stamp: 0, gst: 588, total: 14_153 });
  });

  test("ties round half up, in the components and in GST", () => {
    // Only brokerage at 1%, GST 18%: turnover 2_450 → brokerage 24.5 → 25; GST 25 × 0.18 = 4.5 → 5.
    const schedule = parseFeeSchedule({ brokerage_rate: 1_000_000, stt_sell_rate: 0, exchange_rate: 0, sebi_rate: 0, stamp_buy_rate: 0 });
    expect(fees("BUY", 245, 10, schedule)).toEqual({ brokerage: 25, stt: 0, exchange: 0, sebi: 0, stamp: 0, gst: 5, total: 30 });
    // 2_449 → 24.49 → 24; GST 4.32 → 4.
    expect(feesOnTurnover("BUY", 2_449, schedule)).toMatchObject({ brokerage: 24, gst: 4, total: 28 });
  });

  test("zero turnover costs nothing; a tiny trade can round every charge to zero", () => {
    expect(feesOnTurnover("SELL", 0).total).toBe(0);
    // 1 share at ₹0.05: brokerage 0.0015, everything rounds to 0.
    expect(fees("BUY", 5, 1).total).toBe(0);
  });

  test("large turnovers stay exact (products pass 2^53, computed in BigInt)", () => {
    // 1_000_000 × ₹90,000.00 = 9e12 paise; × 18_000_000 (GST rate) would overflow a double's mantissa.
    const f = fees("SELL", 9_000_000, 1_000_000);
    // STT = 9e12 × 25_000 / 1e8 = 2_250_000_000 exactly; exchange = 9e12 × 2_970 / 1e8 = 267_300_000.
    expect(f.stt).toBe(2_250_000_000);
    expect(f.exchange).toBe(267_300_000);
    expect(f.sebi).toBe(9_000_000);
    expect(f.brokerage).toBe(2_000);
    // GST = (2_000 + 267_300_000 + 9_000_000) × 0.18 = 49_734_360
    expect(f.gst).toBe(49_734_360);
    for (const v of Object.values(f)) expect(Number.isSafeInteger(v)).toBe(true);
  });

  test("charges are monotone in turnover, so per-fill differences are never negative", () => {
    let prev = 0;
    for (let t = 0; t <= 2_000_000; t += 997) {
      const total = feesOnTurnover("BUY", t).total;
      expect(total).toBeGreaterThanOrEqual(prev);
      prev = total;
    }
  });
});

describe("fee settings", () => {
  test("defaults are Zerodha's intraday schedule", () => {
    expect(DEFAULT_FEE_SCHEDULE).toEqual({
      brokerage_rate: 30_000,
      brokerage_cap: 2_000,
      stt_buy_rate: 0,
      stt_sell_rate: 25_000,
      exchange_rate: 2_970,
      sebi_rate: 100,
      stamp_buy_rate: 3_000,
      stamp_sell_rate: 0,
      gst_rate: 18_000_000,
    });
  });

  test("bad settings are all reported at once", () => {
    let err: unknown;
    try {
      parseExchangeConfig({ slippage_bps: 1.5, fees: { gst_rate: -1, brokerage_cap: "20" } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const paths = (err as ConfigError).problems.map((p) => p.path).sort();
    expect(paths).toEqual(["execution.fees.brokerage_cap", "execution.fees.gst_rate", "execution.slippage_bps"]);
  });
});
