/** The API's answers as the desk reads them (gateway/api/schemas/*): money as decimal strings. */
import type { Api } from "./api.ts";

export interface Position {
  strategy_id: string;
  instrument_token: number;
  quantity: number;
  average_price: string;
  last_price?: string;
  realised_pnl: string;
  unrealised_pnl: string;
  fees: string;
}

export interface Portfolio {
  broker: string;
  cash: string;
  realised_pnl: string;
  unrealised_pnl: string;
  fees: string;
  positions: Position[];
  updated_at?: string;
}

export interface Order {
  order_id: string;
  broker: string;
  strategy_id: string;
  instrument_token: number;
  side: string;
  quantity: number;
  filled_quantity: number;
  order_type: string;
  price?: string;
  trigger_price?: string;
  average_price?: string;
  status: string;
  reason_code?: string;
  message?: string;
  created_at: string;
  updated_at: string;
}

export interface Trade {
  fill_id: string;
  order_id: string;
  strategy_id: string;
  instrument_token: number;
  side: string;
  quantity: number;
  price: string;
  fees: string;
  ts: string;
}

export interface Instrument {
  instrument_token: number;
  exchange: string;
  tradingsymbol: string;
  tick_size: string;
  lot_size: number;
}

export interface Strategy {
  id: string;
  kind: string;
  params: Record<string, unknown>;
  instruments: number[];
  brokers: string[];
  enabled: boolean;
}

export interface Risk {
  broker: string;
  state: string;
  reason?: string;
  limits: Record<string, string | number>;
  updated_at?: string;
}

/** What every view is given. */
export interface DeskContext {
  api: Api;
  /** True with a trade key: buttons that act are enabled. */
  canTrade: boolean;
  /** Whether the gateway offers `method path` (its OpenAPI document). */
  can(method: string, path: string): boolean;
  instrument(token: number): Instrument | undefined;
  /** A short status line at the foot of the page (what an action did, or why it failed). */
  notify(text: string, error?: boolean): void;
}

/** An action button's state: disabled with a title saying why, or enabled. */
export function actionState(ctx: DeskContext, method: string, path: string): { disabled: boolean; title?: string } {
  if (!ctx.canTrade) return { disabled: true, title: "needs a trade key (this key is read-only)" };
  if (!ctx.can(method, path)) return { disabled: true, title: `this gateway does not offer ${method} /api/v1${path}` };
  return { disabled: false };
}

/** "NSE:RELIANCE", or the token when the master does not know it. */
export const symbolOf = (ctx: DeskContext, token: number): string => {
  const i = ctx.instrument(token);
  return i ? `${i.exchange}:${i.tradingsymbol}` : String(token);
};
