// A stage worker's floor (scripts/bench/memory-floor.ts): a Worker with a stage's code loaded, running nothing.
export {};
declare const self: Worker;
await import("../../src/stage/runtime.ts");
self.postMessage("loaded");
