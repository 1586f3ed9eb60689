/** The portfolios', positions' and trades' schemas. */
import { z } from "zod";
import { BROKERS } from "../../../src/config.ts";
import { brokerName, limitParam, moneyOut, tradedOut } from "./fields.ts";

export const positionOut = z.object({
  strategy_id: z.string(),
  instrument_token: z.number().int(),
  quantity: z.number().int(),
  average_price: moneyOut,
  last_price: moneyOut.optional(),
  realised_pnl: moneyOut,
  unrealised_pnl: moneyOut,
  fees: moneyOut,
});

export const portfolioOut = z.object({
  broker: z.enum(BROKERS),
  cash: moneyOut,
  realised_pnl: moneyOut,
  unrealised_pnl: moneyOut,
  fees: moneyOut,
  positions: z.array(positionOut),
  updated_at: z.string().optional(),
});

export const portfolioResponse = z.object({ portfolio: portfolioOut });
export const portfolioListResponse = z.object({ portfolios: z.array(portfolioOut) });
export const positionsResponse = z.object({ broker: z.enum(BROKERS), positions: z.array(positionOut) });

export const tradesQuery = z.strictObject({
  broker: brokerName.optional().meta({ description: "Default: every active broker." }),
  limit: limitParam.optional().meta({ description: "1 to 500, default 50; newest first." }),
});

export const tradeOut = z.object({
  fill_id: z.string(),
  event_id: z.string(),
  order_id: z.string(),
  ...tradedOut,
  price: moneyOut,
  fees: moneyOut,
  ts: z.string(),
});

export const tradesResponse = z.object({ trades: z.array(tradeOut) });
