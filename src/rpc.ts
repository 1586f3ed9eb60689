/**
 * Method calls across a MessagePort: how a stage worker reaches the main thread's in-memory cache
 * (embedded mode). Requests, replies and errors (with their code and `canRetry`) cross as
 * src/request-reply.ts carries them.
 *
 * @example
 * serveRpc(cache, port1, ["get", "set"]);      // main thread
 * const cache = rpcClient<Cache>(port2);       // worker
 */
import { AlphaError } from "./errors.ts";
import { replyTo, Requester, type Port, type Reply } from "./request-reply.ts";

/** One method call, as it crosses. */
interface MethodCall {
  id: number;
  method: string;
  args: unknown[];
}

export function serveRpc(target: object, port: Port, methods: readonly string[]): () => void {
  const allowed = new Set(methods);
  const invoke = async ({ method, args }: MethodCall) => {
    if (!allowed.has(method)) throw new AlphaError("INTERNAL", `rpc: method ${method} is not served`);
    const fn = (target as Record<string, (...a: unknown[]) => unknown>)[method]!;
    return fn.apply(target, args);
  };
  const onMessage = (event: MessageEvent) => {
    const call = event.data as MethodCall;
    void replyTo(port, call.id, invoke(call));
  };
  port.addEventListener("message", onMessage);
  port.start?.();
  return () => port.removeEventListener("message", onMessage);
}

export function rpcClient<T extends object>(port: Port): T {
  const requests = new Requester(port);
  port.addEventListener("message", (event: MessageEvent) => requests.settle(event.data as Reply));
  port.start?.();
  return new Proxy({} as T, {
    get(_, method) {
      if (typeof method !== "string" || method === "then") return undefined;
      return (...args: unknown[]) => requests.call({ method, args });
    },
  });
}
