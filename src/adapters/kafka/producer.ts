import type { Kafka, Producer, ProducerBatch, ProducerRecord, RecordMetadata } from 'kafkajs';
import type { Logger } from 'pino';

/** What the ingest (dead-letter topic) and the outbox (outcome events) need of a producer. */
export type RecordSender = Pick<Producer, 'send' | 'sendBatch'>;

export interface SafeProducer extends RecordSender {
  connect(): Promise<void>;
  /** Waits for the send in flight, then disconnects. Idempotent. */
  disconnect(): Promise<void>;
  isConnected(): boolean;
}

/**
 * The instance's one idempotent producer (acks=all), made safe across broker failures
 * (docs/kafka.md, "Crash and restart").
 *
 * kafkajs numbers the batches of an idempotent producer and advances the number only when a send
 * succeeds. When a send fails after the broker wrote it (the broker crashed before answering),
 * the next, different batch reuses the number, and the broker takes it for a retry of the first:
 * it answers success and drops it. The outbox would then mark events sent that never reached the
 * topic. So after any failed send the producer is replaced: the new one has a new producer id,
 * its numbering starts afresh, and nothing can be mistaken for a duplicate (a resent batch may
 * then appear twice, which the event ids and the consumers' dedupe are there for).
 *
 * Sends go one at a time: two sends in flight across an outage can fail in either order, and a
 * later one succeeding before an earlier one is retried breaks the same numbering.
 */
export function createSafeProducer(kafka: Kafka, logger: Logger): SafeProducer {
  const log = logger.child({ component: 'producer' });
  const make = () => kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  let producer: Producer = make();
  let connected = false;
  let closing: Promise<void> | undefined;
  // The chain of sends: each waits for the one before it.
  let turn: Promise<unknown> = Promise.resolve();

  async function replace(cause: unknown): Promise<void> {
    const old = producer;
    producer = make();
    connected = false;
    log.warn({ err: cause }, 'a send failed: replacing the producer so its batch numbers start afresh');
    void old.disconnect().catch(() => undefined);
  }

  function exclusive<T>(run: (p: Producer) => Promise<T>): Promise<T> {
    const mine = turn.then(async () => {
      if (closing) throw new Error('the producer is closed');
      if (!connected) {
        await producer.connect();
        connected = true;
      }
      try {
        return await run(producer);
      } catch (err) {
        await replace(err);
        throw err;
      }
    });
    turn = mine.catch(() => undefined);
    return mine;
  }

  return {
    async connect() {
      await exclusive(async () => undefined);
    },
    send: (record: ProducerRecord): Promise<RecordMetadata[]> => exclusive((p) => p.send(record)),
    sendBatch: (batch: ProducerBatch): Promise<RecordMetadata[]> => exclusive((p) => p.sendBatch(batch)),
    isConnected: () => connected && !closing,
    disconnect() {
      closing ??= (async () => {
        await turn;
        await producer.disconnect();
        connected = false;
      })();
      return closing;
    },
  };
}
