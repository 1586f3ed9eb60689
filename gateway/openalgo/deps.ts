/** What OpenAlgo's routes are built on: our Services, and the few things OpenAlgo adds. */
import type { Broker } from "../../src/config.ts";
import type { Services } from "../api/services.ts";
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
}
