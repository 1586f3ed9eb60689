/**
 * Method calls across a MessagePort: how a stage worker reaches the main thread's in-memory cache
 * (embedded mode).
 * Errors keep their code and `canRetry` across the port.
 *
 * @example
 * serveRpc(cache, port1, ["get", "set"]);      // main thread
 * const cache = rpcClient<Cache>(port2);       // worker
 */
import { AlphaError, type ErrorCode } from "./errors.ts";
import type { Port } from "./log/bridge.ts";

interface Call {
  id: number;
  method: string;
  args: unknown[];
}
type Result = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string; code?: ErrorCode; canRetry?: boolean };

export function serveRpc(target: object, port: Port, methods: readonly string[]): () => void {
  const allowed = new Set(methods);
  const onMessage = async (event: MessageEvent) => {
    const { id, method, args } = event.data as Call;
    try {
      if (!allowed.has(method)) throw new AlphaError("INTERNAL", `rpc: method ${method} is not served`);
      const fn = (target as Record<string, (...a: unknown[]) => unknown>)[method]!;
      const value = await fn.apply(target, args);
      port.postMessage({ id, ok: true, value } satisfies Result);
    } catch (err) {
      const e = err as AlphaError;
      port.postMessage({ id, ok: false, message: e?.message ?? String(err), code: e?.code, canRetry: e?.canRetry } satisfies Result);
    }
  };
  port.addEventListener("message", onMessage);
  port.start?.();
  return () => port.removeEventListener("message", onMessage);
}

export function rpcClient<T extends object>(port: Port): T {
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  port.addEventListener("message", (event: MessageEvent) => {
    const r = event.data as Result;
    const p = pending.get(r.id);
    pending.delete(r.id);
    if (!p) return;
    if (r.ok) p.resolve(r.value);
    else p.reject(r.code ? new AlphaError(r.code, r.message, { canRetry: r.canRetry }) : new Error(r.message));
  });
  port.start?.();
  return new Proxy({} as T, {
    get(_, method) {
      if (typeof method !== "string" || method === "then") return undefined;
      return (...args: unknown[]) =>
        new Promise((resolve, reject) => {
          const id = next++;
          pending.set(id, { resolve, reject });
          port.postMessage({ id, method, args } satisfies Call);
        });
    },
  });
}
