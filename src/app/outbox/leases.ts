/**
 * The entries a dispatcher pass holds, and the renewal of their leases while the pass runs: a pass
 * that takes longer than the lease (a slow SMTP server, a long Slack rate limit) must not let
 * another instance claim and send the same entries. An entry leaves the set when its result is
 * marked; whatever is left when the pass ends is let go with it.
 */
import type { Logger } from 'pino';
import type { Clock, RefundStore } from '../ports.js';
import type { Sleep } from '../rate-limiter.js';

export interface HeldLeases {
  hold(ids: Iterable<number>): void;
  release(id: number): void;
  has(id: number): boolean;
  /** Renews every third of the lease until the returned function is called (and awaited). */
  renewWhileRunning(): () => Promise<void>;
  clear(): void;
}

export function createHeldLeases(deps: { store: RefundStore; owner: string; leaseMs: number; clock: Clock; sleep: Sleep; log: Logger }): HeldLeases {
  const held = new Set<number>();
  return {
    hold: (ids) => {
      for (const id of ids) held.add(id);
    },
    release: (id) => void held.delete(id),
    has: (id) => held.has(id),
    clear: () => held.clear(),
    renewWhileRunning() {
      const done = new AbortController();
      const renewing = (async () => {
        while (!done.signal.aborted) {
          await deps.sleep(Math.floor(deps.leaseMs / 3), done.signal);
          if (done.signal.aborted || held.size === 0) continue;
          try {
            const kept = await deps.store.renewOutboxLeases([...held], deps.owner, deps.clock.now() + deps.leaseMs);
            if (kept < held.size) deps.log.warn({ held: held.size, kept }, 'outbox leases lost while a pass ran; those entries are left to their new holder');
          } catch (err) {
            deps.log.warn({ err }, 'renewing outbox leases failed; will try again');
          }
        }
      })();
      return async () => {
        done.abort();
        await renewing;
      };
    },
  };
}
