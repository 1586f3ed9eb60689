/** The OpenAlgo order-event bridge: its messages, the mapping both ways, its topics. */
export * from "./messages.ts";
export { masterContractMessage, PUBLISHED_TYPES, toOpenAlgoMessages } from "./publish.ts";
export { receive, type OpenAlgoOrder, type Received } from "./receive.ts";
export { OPENALGO_CARRIES, openAlgoTopicSpecs } from "./topics.ts";
