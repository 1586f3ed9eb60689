/**
 * The business checks an order must pass before the exchange accepts it. A failure is a value
 * (an order.rejected with a reason code), never an exception.
 */
import type { Paise } from "../money.ts";
import { PRICES_NEEDED } from "../orders/vocabulary.ts";
import type { ExchangeConfig } from "./config.ts";
import { stopTriggered } from "./pricing.ts";
import type { InstrumentSpec, OrderRequest, RejectReason } from "./types.ts";

export interface Refusal {
  reason: RejectReason;
  message: string;
}

const needsPrice = (o: OrderRequest) => PRICES_NEEDED[o.order_type].price;
const isStop = (o: OrderRequest) => PRICES_NEEDED[o.order_type].trigger_price;

/**
 * Why the order cannot be accepted, or undefined when it can.
 *
 * @example
 * refusal(order, instrument, undefined, config); // { reason: "NO_MARKET_PRICE", … } for a MARKET order
 *
 * `held`: an after-market order held until the open, whose price checks wait for the market then.
 */
export function refusal(o: OrderRequest, instrument: InstrumentSpec | undefined, last: Paise | undefined, config: ExchangeConfig, held = false): Refusal | undefined {
  if (!instrument) return { reason: "UNKNOWN_INSTRUMENT", message: `instrument ${o.instrument_token} is not listed` };
  if (!Number.isSafeInteger(o.quantity) || o.quantity <= 0 || o.quantity % instrument.lot_size !== 0) {
    return { reason: "INVALID_QUANTITY", message: `quantity ${o.quantity} is not a positive multiple of the lot size ${instrument.lot_size}` };
  }
  if (needsPrice(o) && o.price === undefined) return { reason: "PRICE_REQUIRED", message: `a ${o.order_type} order needs a price` };
  if (isStop(o) && o.trigger_price === undefined) return { reason: "TRIGGER_PRICE_REQUIRED", message: `a ${o.order_type} order needs a trigger price` };
  const tick = instrument.tick_size;
  if (needsPrice(o) && o.price !== undefined && o.price % tick !== 0) {
    return { reason: "PRICE_NOT_ON_TICK", message: `price ${o.price} is not a multiple of the tick size ${tick}` };
  }
  if (isStop(o) && o.trigger_price !== undefined && o.trigger_price % tick !== 0) {
    return { reason: "PRICE_NOT_ON_TICK", message: `trigger price ${o.trigger_price} is not a multiple of the tick size ${tick}` };
  }
  if (held) return undefined;
  if (o.order_type === "MARKET" && last === undefined) {
    return { reason: "NO_MARKET_PRICE", message: `no last price for instrument ${o.instrument_token} yet` };
  }
  if (isStop(o) && o.trigger_price !== undefined && last !== undefined && config.stop_already_triggered === "reject" && stopTriggered(o.side, last, o.trigger_price)) {
    return {
      reason: "TRIGGER_ALREADY_CROSSED",
      message: `${o.side} stop trigger ${o.trigger_price} is already crossed by the last price ${last}`,
    };
  }
  return undefined;
}
