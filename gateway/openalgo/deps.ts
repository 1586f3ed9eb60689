/** What OpenAlgo's routes are built on: our Services, and the few things OpenAlgo adds. */
import type { Broker } from "../../src/config.ts";
import type { QuoteReader } from "../../src/market/quotes.ts";
import type { Product } from "../../src/orders/vocabulary.ts";
import type { PositionView, Services } from "../api/services.ts";
import type { KeyModes } from "./route.ts";
import type { SymbolIndex } from "./symbols.ts";

export interface OaDeps {
  services: Services;
  activeBrokers: readonly Broker[];
  /** OpenAlgo's names for the instrument master. */
  symbols: SymbolIndex;
  modes: KeyModes;
  /** How many paper orders there have been (the analyzer's `total_logs`). */
  paperOrderCount(): Promise<number>;
  /** The product each order was placed with (absent: none named, MIS). */
  orderProducts(orderIds: readonly string[]): Promise<Map<string, Product>>;
  /** The product a position is held under: that of the last filled order that built it (MIS when none names one). */
  positionProduct(broker: Broker, p: PositionView): Promise<Product>;
  /** Quotes from the ticks the gateway has seen (src/market/quotes.ts). */
  quotes: QuoteReader;
}
