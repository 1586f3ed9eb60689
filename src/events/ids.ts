/**
 * Deterministic event ids. A stage that handles the same input twice (a redelivery after a crash)
 * must produce the same output ids, or downstream dedup cannot see the duplicate. A derived id is
 * a UUIDv7 whose 48-bit timestamp is the parent's (so ids stay time-ordered) and whose other bits
 * come from sha256(parent id, salt).
 *
 * @example
 * derivedId(tick.id, "momentum_fast/paper"); // the same string every time for that tick
 */
export function derivedId(parentId: string, salt: string): string {
  const hex = parentId.replace(/-/g, "");
  const ts = /^[0-9a-f]{12}/i.test(hex) ? hex.slice(0, 12) : "000000000000";
  const h = new Bun.CryptoHasher("sha256").update(parentId).update("\u0000").update(salt).digest("hex");
  const variant = ((parseInt(h[15]!, 16) & 0x3) | 0x8).toString(16);
  const s = `${ts}7${h.slice(0, 3)}${variant}${h.slice(3, 6)}${h.slice(6, 18)}`;
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`.toLowerCase();
}
