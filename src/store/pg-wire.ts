/**
 * The bytes of the PostgreSQL wire protocol the embedded server (src/store/pglite-server.ts) reads
 * and writes itself; everything else passes through to PGlite untouched.
 */

/** The first message of a connection has no type byte: its length, then one of these codes. */
export const PROTOCOL_3 = 196_608;
export const SSL_REQUEST = 80_877_103;
export const GSSENC_REQUEST = 80_877_104;
export const CANCEL_REQUEST = 80_877_102;
export const TERMINATE = 0x58; // 'X'
export const PARSE = 0x50; // 'P'
const READY_FOR_QUERY = 0x5a; // 'Z', length 5, then the transaction status
const IDLE = 0x49; // 'I'
/** A Sync message: ends a statement cut off half-way. */
export const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);

/** A FATAL ErrorResponse. */
export function fatal(code: string, message: string): Uint8Array {
  const body = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`);
  const out = Buffer.alloc(5 + body.length);
  out[0] = 0x45; // 'E'
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/** Whether a response ends with ReadyForQuery, idle: the socket's unit of work is over. */
export function endsIdle(response: Uint8Array): boolean {
  const n = response.length;
  return n >= 6 && response[n - 6] === READY_FOR_QUERY && response[n - 5] === 0 && response[n - 4] === 0 && response[n - 3] === 0 && response[n - 2] === 5 && response[n - 1] === IDLE;
}
