/**
 * The strategy stage's logic: pure strategies (momentum, mean reversion) and the router that runs
 * them on ticks. No I/O here; the strategy worker adds the log.
 */
export { StrategyConfigError } from "./errors.ts";
export type { Direction, ModelStep, StrategyKind, Target } from "./kind.ts";
export { meanReversion, meanReversionParams, type MeanReversionModel, type MeanReversionParams } from "./mean-reversion.ts";
export { momentum, momentumParams, type MomentumModel, type MomentumParams } from "./momentum.ts";
export { StrategyRouter, compileRow, type RoutedSignal, type RouterOptions, type RouterSnapshot, type StrategyRow } from "./router.ts";
export { signalId, toLots, type Signal } from "./signal.ts";
export { STRATEGY_KINDS, STRATEGY_PARAMS, compileStrategy, createStrategy, type InstrumentState, type Strategy, type StrategyStep } from "./strategy.ts";
