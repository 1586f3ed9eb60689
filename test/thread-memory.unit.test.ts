/**
 * Each thread's heap for /ready and the memory bench, read without walking the heap: the same
 * figures as bun:jsc's heapStats() (heapSize and extraMemorySize), in the main thread and in a
 * worker, where they are the worker's own.
 */
import { expect, test } from "bun:test";
import { heapStats } from "bun:jsc";
import { mb, threadMemory } from "../src/thread-memory.ts";

test("the main thread: heapStats' heap and external memory, to a tenth of a MB", () => {
  const held = new ArrayBuffer(16 * 1024 * 1024);
  const s = heapStats();
  const m = threadMemory();
  expect(m.external_mb).toBeGreaterThanOrEqual(16);
  expect(Math.abs(m.external_mb - mb(s.extraMemorySize))).toBeLessThanOrEqual(0.5);
  expect(Math.abs(m.heap_mb - mb(s.heapSize))).toBeLessThanOrEqual(0.5);
  expect(held.byteLength).toBe(16 * 1024 * 1024);
});

test("a worker: its own heap, not the main thread's", async () => {
  const worker = new Worker(new URL("./support/fixtures/thread-memory-worker.ts", import.meta.url).href);
  try {
    const answer = await new Promise<{ memory: { heap_mb: number; external_mb: number }; stats: { heapSize: number; extraMemorySize: number } }>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage("memory");
    });
    expect(answer.memory.external_mb).toBeGreaterThanOrEqual(32);
    expect(Math.abs(answer.memory.external_mb - mb(answer.stats.extraMemorySize))).toBeLessThanOrEqual(0.5);
    expect(Math.abs(answer.memory.heap_mb - mb(answer.stats.heapSize))).toBeLessThanOrEqual(0.5);
    // The main thread does not hold the worker's 32 MB.
    expect(threadMemory().external_mb).toBeLessThan(answer.memory.external_mb);
  } finally {
    worker.terminate();
  }
});
