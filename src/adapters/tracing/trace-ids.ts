import { randomFillSync } from 'node:crypto';
import { startedTraceparent } from '../../domain/trace-context.js';

// A trace is 24 random bytes: 16 for its id, 8 for the parent id of its first hop. They are drawn
// 4080 bytes (170 traces) at a time and hex-encoded at once, so a record without a traceparent
// costs a slice of a string, and one call into the CSPRNG per 170 records rather than one each:
// a fraction of a microsecond against the ingest's ~16 µs of CPU a record (docs/performance.md).
const TRACE_HEX = 48;
const POOL_BYTES = 24 * 170;

/**
 * Starts traces for records that carried none (docs/operations.md, "Tracing"): a random trace id
 * and parent id from the system's CSPRNG, as W3C Trace Context asks, marked sampled.
 */
export function createTraceStarter(): () => string {
  const pool = Buffer.alloc(POOL_BYTES);
  let hex = '';
  let used = 0;
  return function startTrace(): string {
    for (;;) {
      if (used + TRACE_HEX > hex.length) {
        hex = randomFillSync(pool).toString('hex');
        used = 0;
      }
      const started = startedTraceparent(hex.slice(used, used + TRACE_HEX));
      used += TRACE_HEX;
      if (started !== undefined) return started;
    }
  };
}
