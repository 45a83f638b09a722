/**
 * The timers a component has started and not yet seen fire, so that close() can stop them all:
 * one left running would hold the process open after the sandbox is closed.
 */
export interface Timers {
  /** Runs fn after ms; the returned function cancels it (harmless once it has run). */
  later(ms: number, fn: () => void): () => void;
  /** Cancels every timer still pending. */
  clear(): void;
}

export function createTimers(): Timers {
  const pending = new Set<NodeJS.Timeout>();
  return {
    later(ms, fn) {
      const timer = setTimeout(() => {
        pending.delete(timer);
        fn();
      }, ms);
      pending.add(timer);
      return () => {
        clearTimeout(timer);
        pending.delete(timer);
      };
    },
    clear() {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
    },
  };
}
