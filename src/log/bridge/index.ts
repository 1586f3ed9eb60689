/**
 * The in-process log across threads. The embedded log lives on the main thread; a Bun Worker gets
 * one end of a MessageChannel and a `RemoteLog` over it (client.ts), and the main thread serves
 * the other end with `serveLog` (server.ts). The messages are in wire.ts, a batch's bytes in
 * batch-codec.ts.
 */
export { RemoteLog, type Thinning } from "./client.ts";
export { serveLog, type ServeLogOptions, type ThinBatch } from "./server.ts";
export { packBatch, unpackBatch, type PackedBatch } from "./batch-codec.ts";
export type { Port } from "../../request-reply.ts";
