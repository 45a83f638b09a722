import type { ApplyInput, RefundStore } from './ports.js';

/**
 * Group commit for decisions: a decision arriving while a transaction is being written waits
 * for it, then goes with every other waiting decision in the next one. One alone is written at
 * once (no added latency when quiet); under load, one commit — one fsync on SQLite with
 * SQLITE_SYNCHRONOUS=full — serves dozens of refunds instead of one.
 */
export function createGroupCommit(store: RefundStore, maxBatch = 256): (input: ApplyInput) => Promise<boolean> {
  let queue: Array<{ input: ApplyInput; resolve: (applied: boolean) => void; reject: (err: unknown) => void }> = [];
  let flushing = false;

  async function flush(): Promise<void> {
    flushing = true;
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(maxBatch);
        try {
          const results = await store.applyDecisions(batch.map((b) => b.input));
          batch.forEach((b, i) => b.resolve(results[i]!));
        } catch (err) {
          if (batch.length === 1) {
            batch[0]!.reject(err);
            continue;
          }
          // One bad decision must not sink the others: write them one by one.
          for (const b of batch) {
            try {
              const [applied] = await store.applyDecisions([b.input]);
              b.resolve(applied!);
            } catch (single) {
              b.reject(single);
            }
          }
        }
      }
    } finally {
      flushing = false;
    }
  }

  return (input) =>
    new Promise<boolean>((resolve, reject) => {
      queue.push({ input, resolve, reject });
      if (!flushing) void flush();
    });
}
