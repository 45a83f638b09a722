import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { withDeadline } from '../timers.js';

/**
 * The ingest's consumer lag, per partition: how many records of the input topic the group has not
 * committed past. Read from the broker (the group's committed offsets and the topic's high
 * watermarks, two small admin requests), not from the batches this instance handles: a consumer
 * that is stuck, paused by an outage or out of its group handles no batch, and that is exactly
 * when the lag must keep growing on the dashboard. Every instance reports the whole group's lag.
 */

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** Records behind: high watermark minus the committed offset. */
  readonly lag: number;
}

export interface ConsumerLag {
  /**
   * The lag per partition, asked of the broker at most every `refreshMs` and waited for at most
   * `timeoutMs`; empty when the last answer is older than `staleAfterMs` (the broker cannot say),
   * so the series go away instead of freezing at a reassuring value.
   */
  read(): Promise<readonly PartitionLag[]>;
  /** Disconnects; later reads are empty. */
  close(): Promise<void>;
}

/**
 * Lag from the topic's watermarks and the group's committed offsets. A partition the group has
 * committed nothing on (offset -1) is behind by everything the broker still holds: new groups
 * start from the earliest offset (ingest-consumer.ts).
 */
export function partitionLags(
  topic: string,
  watermarks: ReadonlyArray<{ partition: number; high: string; low: string }>,
  committed: ReadonlyArray<{ partition: number; offset: string }>,
): PartitionLag[] {
  const done = new Map(committed.map((c) => [c.partition, Number(c.offset)]));
  return watermarks
    .map((w) => {
      const high = Number(w.high);
      const at = done.get(w.partition);
      const from = at === undefined || at < 0 ? Number(w.low) : at;
      return { topic, partition: w.partition, lag: Math.max(0, high - from) };
    })
    .sort((a, b) => a.partition - b.partition);
}

// Prometheus scrapes every 15 to 60 s: a sample is at most one scrape old, and two scrapes in a row
// (or two Prometheus servers) cost the broker one pair of requests. A scrape waits at most 2 s
// for the broker; after 30 s without an answer the lag is unknown rather than stale.
const REFRESH_MS = 10_000;
const TIMEOUT_MS = 2_000;
const STALE_AFTER_MS = 30_000;

export function createConsumerLag(deps: {
  kafka: Kafka;
  groupId: string;
  topic: string;
  now: () => number;
  log: Logger;
  refreshMs?: number;
  timeoutMs?: number;
  staleAfterMs?: number;
}): ConsumerLag {
  const refreshMs = deps.refreshMs ?? REFRESH_MS;
  const staleAfterMs = deps.staleAfterMs ?? STALE_AFTER_MS;
  let admin: Admin | undefined;
  let connected = false;
  let last: { at: number; lags: PartitionLag[] } | undefined;
  let inflight: Promise<void> | undefined;
  let failing = false;
  let closed = false;

  async function refresh(): Promise<void> {
    try {
      // No retries of its own: the next scrape is the retry, and a request must not outlive it.
      admin ??= deps.kafka.admin({ retry: { retries: 0 } });
      if (!connected) {
        await admin.connect();
        connected = true;
      }
      const [watermarks, offsets] = await Promise.all([
        admin.fetchTopicOffsets(deps.topic),
        admin.fetchOffsets({ groupId: deps.groupId, topics: [deps.topic] }),
      ]);
      const committed = offsets.find((o) => o.topic === deps.topic)?.partitions ?? [];
      last = { at: deps.now(), lags: partitionLags(deps.topic, watermarks, committed) };
      if (failing) deps.log.info('consumer lag readable again');
      failing = false;
    } catch (err) {
      // Once per run of failures: a broker outage is reported by /readyz, not by every scrape.
      if (!failing) deps.log.warn({ err }, 'consumer lag could not be read; /metrics leaves it out until it can');
      failing = true;
      const broken = admin;
      admin = undefined;
      connected = false;
      await broken?.disconnect().catch(() => undefined);
    }
  }

  return {
    async read() {
      if (closed) return [];
      if (!last || deps.now() - last.at >= refreshMs) {
        inflight ??= refresh().finally(() => {
          inflight = undefined;
        });
        await withDeadline(inflight, deps.timeoutMs ?? TIMEOUT_MS, 'consumer lag: no answer in time').catch(() => undefined);
      }
      return last && deps.now() - last.at < staleAfterMs ? last.lags : [];
    },
    async close() {
      closed = true;
      // A request stuck on a dying broker must not hold up the shutdown: disconnecting ends it.
      if (inflight) await withDeadline(inflight, deps.timeoutMs ?? TIMEOUT_MS, 'consumer lag').catch(() => undefined);
      await admin?.disconnect().catch(() => undefined);
      admin = undefined;
    },
  };
}
