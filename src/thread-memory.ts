/**
 * What this thread's JavaScript engine holds, for /ready and the memory bench. Threads share one
 * process, so the resident set (VmRSS) cannot be split among them; each thread's heap can.
 */
import { heapSize } from "bun:jsc";

const MB = 1024 * 1024;
/** Bytes in MB, to a tenth. */
export const mb = (bytes: number): number => Math.round((bytes / MB) * 10) / 10;

/** One thread's heap, in MB. */
export interface ThreadMemory {
  /** The collector's heap: objects, and the buffers it accounts for (`external_mb`). */
  heap_mb: number;
  /** Of that, memory outside JS objects: ArrayBuffers, WebAssembly memories, strings' storage. */
  external_mb: number;
}

/**
 * This thread's heap.
 *
 * @example
 * threadMemory() // { heap_mb: 21.3, external_mb: 2.1 }
 */
export function threadMemory(): ThreadMemory {
  // Not heapStats(): it walks the heap to count objects by type, 3–16 ms with the thread stopped,
  // and workers report once a second. heapSize() is the same figure as its heapSize, and
  // memoryUsage().external (this thread's, in a worker too) the same as its extraMemorySize.
  return { heap_mb: mb(heapSize()), external_mb: mb(process.memoryUsage().external) };
}
