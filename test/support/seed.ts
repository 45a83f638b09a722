import { onTestFailed } from 'vitest';
import { seededRandom } from '../../src/domain/random.js';

/**
 * The random choices of a crash or fault test (when to kill, whom), from a seed that a failure
 * prints, so the same run can be replayed: `TEST_SEED=<seed> npx vitest run <file>`. Call it
 * inside the test (it registers the print with the running test).
 */
export function testRandom(name: string): { random: () => number; seed: number } {
  const seed = process.env.TEST_SEED ? Number(process.env.TEST_SEED) : Math.floor(Math.random() * 2 ** 31);
  onTestFailed(() => {
    console.error(`[${name}] random choices came from seed ${seed}: rerun with TEST_SEED=${seed}`);
  });
  return { random: seededRandom(seed), seed };
}
