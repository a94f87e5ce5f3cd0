/**
 * A record key as a point in [0, 1): the same key always lands on the same point, on every
 * replica and after every restart, and different keys spread evenly. FNV-1a over the key's
 * UTF-16 code units, then MurmurHash3's finalizer, whose avalanche spreads keys that differ in
 * one character (`user-17`, `user-18`) over the whole range.
 */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}
