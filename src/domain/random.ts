import type { Random } from './schedule.js';

/**
 * A seeded random source (mulberry32: 32-bit state, full period, good enough for jitter), so a
 * schedule's jitter is reproducible in tests and simulations. The service itself uses Math.random.
 */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
