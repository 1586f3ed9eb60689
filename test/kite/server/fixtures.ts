/**
 * Kite JSON the fake answers with for what it does not simulate (holdings, margins), in the
 * shapes of Kite's docs, floating-point noise included (Kite computes these in floats).
 */

export const HOLDINGS: Record<string, unknown>[] = [
  {
    tradingsymbol: "INFY",
    exchange: "NSE",
    instrument_token: 408065,
    isin: "INE009A01021",
    product: "CNC",
    price: 0,
    quantity: 5,
    used_quantity: 0,
    t1_quantity: 0,
    realised_quantity: 5,
    authorised_quantity: 0,
    authorised_date: "2024-06-08 00:00:00",
    opening_quantity: 5,
    collateral_quantity: 0,
    collateral_type: "",
    discrepancy: false,
    average_price: 1450.466,
    last_price: 1885.2,
    close_price: 1872.35,
    pnl: 2173.6700000000005,
    day_change: 12.850000000000136,
    day_change_percentage: 0.6863,
  },
  {
    tradingsymbol: "SBIN",
    exchange: "NSE",
    instrument_token: 779521,
    isin: "INE062A01020",
    product: "CNC",
    price: 0,
    quantity: 11,
    used_quantity: 0,
    t1_quantity: 7,
    realised_quantity: 11,
    authorised_quantity: 0,
    authorised_date: "2024-06-08 00:00:00",
    opening_quantity: 18,
    collateral_quantity: 0,
    collateral_type: "",
    discrepancy: false,
    average_price: 429,
    last_price: 426.9,
    close_price: 432.4,
    pnl: -37.80000000000041,
    day_change: -5.5,
    day_change_percentage: -1.2719703977798336,
  },
];

const segment = (cash: number, net: number, debits: number) => ({
  enabled: true,
  net,
  available: { adhoc_margin: 0, cash, opening_balance: cash, live_balance: net, collateral: 0, intraday_payin: 0 },
  utilised: {
    debits,
    exposure: 38981.25,
    m2m_realised: 761.7,
    m2m_unrealised: 0,
    option_premium: 0,
    payout: 0,
    span: 101989,
    holding_sales: 0,
    turnover: 0,
    liquid_collateral: 0,
    stock_collateral: 0,
    delivery: 0,
  },
});

export const MARGINS: Record<string, unknown> = {
  equity: segment(245431.6, 99725.05000000002, 145706.55),
  commodity: { ...segment(100661.7, 100661.7, 0), utilised: { debits: 0, exposure: 0, span: 0 } },
};
