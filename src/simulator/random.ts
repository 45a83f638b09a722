/**
 * Seeded randomness for the sandbox. Each draw is a hash of (seed, what it is for), not the next
 * value of one shared stream: a refund's faults and latencies then depend on the seed and on that
 * refund's own inquiry count, never on how requests for other refunds interleaved. The same seed
 * and the same scenarios give the same answers at concurrency 1 or 64.
 */
export interface SeededRandom {
  readonly seed: number;
  /** A number in [0, 1) fixed by the seed and the parts. */
  unit(...parts: readonly (string | number)[]): number;
  /** An integer in [min, max], fixed by the seed and the parts. */
  between(min: number, max: number, ...parts: readonly (string | number)[]): number;
  /** A hex string of `length` characters fixed by the seed and the parts (ids). */
  hex(length: number, ...parts: readonly (string | number)[]): string;
}

export function createSeededRandom(seed: number): SeededRandom {
  const seedHash = hash32(String(seed), 0x9e3779b9);
  const draw = (parts: readonly (string | number)[], salt = 0): number => hash32(parts.join('\u0000'), seedHash ^ salt);
  return {
    seed,
    unit: (...parts) => draw(parts) / 0x1_0000_0000,
    between: (min, max, ...parts) => min + Math.floor((draw(parts) / 0x1_0000_0000) * (max - min + 1)),
    hex(length, ...parts) {
      let out = '';
      for (let salt = 1; out.length < length; salt += 1) out += draw(parts, salt).toString(16).padStart(8, '0');
      return out.slice(0, length);
    },
  };
}

/**
 * FNV-1a over UTF-16 code units, then the murmur3 finaliser: FNV alone mixes its last characters
 * poorly, and consecutive inquiry numbers differ only there.
 */
function hash32(text: string, basis: number): number {
  let h = (0x811c9dc5 ^ basis) >>> 0;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
