import { randomFillSync } from 'node:crypto';
import { startedTraceparent } from '../../domain/trace-context.js';

// A trace is 24 random bytes: 16 for its id, 8 for the parent id of its first hop. They are drawn
// 4080 bytes (170 traces) at a time, so a batch of records without a traceparent costs one call
// into the CSPRNG per 170 records rather than one each (the ingest's budget is a few microseconds
// a record; docs/performance.md).
const TRACE_BYTES = 24;
const POOL_BYTES = TRACE_BYTES * 170;

/**
 * Starts traces for records that carried none (docs/operations.md, "Tracing"): a random trace id
 * and parent id from the system's CSPRNG, as W3C Trace Context asks, marked sampled.
 */
export function createTraceStarter(): () => string {
  const pool = Buffer.alloc(POOL_BYTES);
  let used = POOL_BYTES;
  return function startTrace(): string {
    for (;;) {
      if (used + TRACE_BYTES > POOL_BYTES) {
        randomFillSync(pool);
        used = 0;
      }
      const started = startedTraceparent(pool.toString('hex', used, used + TRACE_BYTES));
      used += TRACE_BYTES;
      if (started !== undefined) return started;
    }
  };
}
