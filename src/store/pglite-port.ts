/**
 * A postgres.js connection to embedded PGlite over a MessagePort instead of a loopback socket:
 * the bytes of the wire protocol are posted to PGlite's thread (src/store/pglite-server.ts
 * `accept`) and the responses posted back, the same protocol, client and session rules. Used by
 * the stage workers, which are threads of the same process: a port skips the socket's kernel
 * round trip, and every fill's ledger statement takes this way.
 *
 * @example
 * // the main thread: const acceptor = embedded.connector(); post it to the worker
 * const sql = postgres({ ...embeddedOptions, ...overPort(acceptor) });
 */
import { EventEmitter } from "node:events";
import type { EmbeddedOptions } from "./pglite.ts";

/** Posted (either way) over a port connection when its side closes. */
export const PORT_END = "end";

/** What a connection's acceptor port carries: the port of one new connection. */
export interface ConnectRequest {
  t: "connect";
  port: MessagePort;
}

/**
 * The part of a `net.Socket` postgres.js uses, over a MessagePort: `data`, `close` and `error`
 * events, `write`, `end`, `destroy`, `readyState`. Already connected when made.
 */
export class PortSocket extends EventEmitter {
  readyState: "open" | "closed" = "open";

  constructor(private readonly port: MessagePort) {
    super();
    port.onmessage = (e) => {
      const data = e.data as Uint8Array | typeof PORT_END;
      if (data === PORT_END) this.closed();
      else this.emit("data", Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    };
    // PGlite's thread went away.
    port.addEventListener("close", () => this.closed());
  }

  write(chunk: Uint8Array, callback?: (err?: Error) => void): boolean {
    if (this.readyState !== "open") {
      const err = new Error("write after the embedded database's connection closed");
      if (callback) queueMicrotask(() => callback(err));
      else queueMicrotask(() => this.emit("error", err));
      return false;
    }
    this.port.postMessage(chunk);
    if (callback) queueMicrotask(() => callback());
    return true;
  }

  end(chunk?: Uint8Array): this {
    if (this.readyState === "open") {
      if (chunk) this.port.postMessage(chunk);
      this.port.postMessage(PORT_END);
    }
    this.closed();
    return this;
  }

  destroy(): this {
    return this.end();
  }

  // Flow control is the port's: nothing to pause.
  pause(): this {
    return this;
  }

  resume(): this {
    return this;
  }

  private closed(): void {
    if (this.readyState === "closed") return;
    this.readyState = "closed";
    this.port.close();
    queueMicrotask(() => this.emit("close", false));
  }
}

/**
 * postgres.js's `socket` option ("Custom socket" in its README: a function returning a socket-like
 * duplex; its type definitions leave the option out) for connections through `acceptor`, a port
 * to PGlite's thread: each connection is a new MessageChannel, one end posted there.
 *
 * @example
 * const sql = postgres({ ...embeddedOptions, ...overPort(acceptor) });
 */
export function overPort(acceptor: MessagePort): EmbeddedOptions {
  const socket = () => {
    const { port1, port2 } = new MessageChannel();
    acceptor.postMessage({ t: "connect", port: port2 } satisfies ConnectRequest, [port2]);
    return new PortSocket(port1);
  };
  return { socket } as EmbeddedOptions;
}
