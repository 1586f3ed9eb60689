/** Controls as commands on the log: write them (commands), fold them (state), read them (reader). */
export { controlEnvelope, controlKey, isControlType, sendControl, type ControlCommand, type ControlType, type StrategyDef } from "./commands.ts";
export { ControlReader, type AppliedControl, type ControlListener, type ControlReaderOptions } from "./reader.ts";
export { evolveControl, initialControlState, strategyVerdict, type ControlState } from "./state.ts";
