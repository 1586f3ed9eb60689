/**
 * Requests and replies across a MessagePort, shared by the log's bridge (src/log/bridge/) and the
 * cache's method calls (src/rpc.ts): each request carries an id, each reply names it, and an error
 * crosses with its code and `canRetry`, so a worker decides on a retry as it would in-process.
 *
 * @example
 * const requests = new Requester(port);                        // the calling end
 * const value = await requests.call({ method: "get", args: ["k"] });
 * replyTo(port, id, target.get("k"));                          // the serving end, per request
 */
import { AlphaError, type ErrorCode } from "./errors.ts";

/** The part of MessagePort both ends use. */
export interface Port {
  postMessage(message: unknown, options?: { transfer?: ArrayBuffer[] }): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  removeEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  start?(): void;
}

/** An error as it crosses: what AlphaError needs to be rebuilt on the other side. */
export interface WireError {
  message: string;
  code?: ErrorCode;
  canRetry?: boolean;
}

export const toWire = (err: unknown): WireError =>
  err instanceof AlphaError ? { message: err.message, code: err.code, canRetry: err.canRetry } : { message: (err as Error)?.message ?? String(err) };

export const fromWire = (w: WireError): Error => (w.code ? new AlphaError(w.code, w.message, { canRetry: w.canRetry }) : new Error(w.message));

/** The answer to one request. */
export type Reply = { t: "reply"; id: number; ok: true; value?: unknown } | { t: "reply"; id: number; ok: false; error: WireError };

/** Posts the outcome of `work` as the reply to request `id`. */
export function replyTo(port: Port, id: number, work: Promise<unknown>): Promise<void> {
  return work.then(
    (value) => port.postMessage({ t: "reply", id, ok: true, value } satisfies Reply),
    (err) => port.postMessage({ t: "reply", id, ok: false, error: toWire(err) } satisfies Reply),
  );
}

/**
 * The calling end: numbers requests and settles each with its reply. The owner of the port
 * listens and hands replies to `settle` (a port may carry other messages too, as the bridge's
 * batches do).
 */
export class Requester {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();

  constructor(private readonly port: Port) {}

  /** Posts `request` with a fresh id; settles when its reply arrives. */
  call<T>(request: object): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.port.postMessage({ ...request, id });
    });
  }

  /** Settles the request a reply answers (a reply to no pending request is dropped). */
  settle(reply: Reply): void {
    const waiting = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (!waiting) return;
    if (reply.ok) waiting.resolve(reply.value);
    else waiting.reject(fromWire(reply.error));
  }
}
