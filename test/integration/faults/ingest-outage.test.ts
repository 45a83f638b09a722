import { Writable } from 'node:stream';
import { Kafka, logLevel, type Consumer, type ConsumerRunConfig, type EachBatchPayload } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { createTrackRefunds } from '../../../src/app/track-refunds.js';
import { createIngestConsumer, type IngestConsumer } from '../../../src/adapters/kafka/ingest-consumer.js';
import { createSafeProducer } from '../../../src/adapters/kafka/producer.js';
import { createLogger } from '../../../src/adapters/log/logger.js';
import { createSqliteStore } from '../../../src/adapters/store/sqlite.js';
import { createTopics } from '../../../src/devtools/local-kafka.js';
import type { Service } from '../../../src/main.js';
import { collectMessages, testBrokers, uniqueName, until } from '../../support/kafka.js';
import { configFrom, inProcessService, isolatedEnv, produce, refundRecord } from '../../support/service.js';

/**
 * The fault suite, the ingest's own outages (docs/reliability.md): a dead-letter topic that cannot
 * be written, and a consumer that kafkajs gives up on. A record is never skipped and the consumer
 * never sits idle while the process looks healthy.
 */

const silent = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });

describe('fault suite: the ingest cannot write or crashes', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('a dead-letter topic that cannot be written pauses the partition, says why, and skips nothing', async () => {
    const env = isolatedEnv('dlq-down', { KAFKA_CREATE_TOPICS: 'false' });
    const config = configFrom(env);
    const brokers = env.KAFKA_BROKERS!;
    // Every topic but the dead-letter one; one input partition so order is plain.
    await createTopics(brokers, [
      { topic: config.values.TOPIC_REFUND_INITIATED, numPartitions: 1 },
      { topic: config.values.TOPIC_REFUND_COMPLETED },
      { topic: config.values.TOPIC_REFUND_FAILED },
      { topic: config.values.TOPIC_REFUND_STALLED },
    ]);
    await produce(brokers, config.values.TOPIC_REFUND_INITIATED, [
      refundRecord(1),
      { key: 'bad', value: '{"refundId": "R-x",' },
      ...Array.from({ length: 50 }, (_, i) => refundRecord(2 + i)),
    ]);
    const service: Service = inProcessService(config);
    cleanups.push(() => service.stop());
    const { adminUrl } = await service.start();
    const started = Date.now();
    const readiness = async () => (await (await fetch(`${adminUrl}/readyz`)).json()) as { status: string; checks: Array<{ name: string; error?: string }> };

    const report = await until(
      async () => {
        const r = await readiness();
        const error = r.checks.find((c) => c.name === 'kafka')?.error ?? '';
        return r.status === 'not ready' && /dead-letter topic|waiting since/.test(error) ? error : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, message: 'readiness says the dead-letter topic cannot be written' },
    );
    const reported = Date.now();
    expect(report).toMatch(/partition 0/);
    // Nothing past the bad record is committed or tracked while it cannot be dead-lettered: the
    // chunk is written again, whole, once the topic takes it.
    expect(service.ingest.stats.records).toBe(0);
    expect(service.ingest.stats.deadLettered).toBe(0);

    const topicCreated = Date.now();
    const dlq = await (async () => {
      await createTopics(brokers, [{ topic: config.values.TOPIC_DEAD_LETTER }]);
      const c = await collectMessages(brokers, config.values.TOPIC_DEAD_LETTER);
      cleanups.push(() => c.stop());
      return c;
    })();
    await until(async () => (await service.store.countByStatus()).pending === 51, { timeoutMs: 120_000, intervalMs: 250, message: 'all 51 good refunds tracked' });
    await until(() => dlq.messages.length >= 1, { timeoutMs: 30_000, message: 'the bad record dead-lettered' });
    await until(async () => (await readiness()).status === 'ready', { timeoutMs: 30_000, message: 'ready again' });
    expect(dlq.messages.map((m) => m.key)).toEqual(['bad']);
    expect(dlq.messages[0]!.headers['x-dlq-source-offset']).toBe('1');
    expect(service.ingest.stats).toMatchObject({ tracked: 51, deadLettered: 1, restarts: 0 });
    console.log(`[dlq-down] reported by /readyz ${((reported - started) / 1000).toFixed(1)} s after the start; 0 records skipped; all 51 tracked and the bad one dead-lettered once ${((Date.now() - topicCreated) / 1000).toFixed(1)} s after the topic was created`);
  }, 240_000);

  /** An ingest consumer on the real broker whose eachBatch is made to throw (below our own guard). */
  async function crashingIngest(crashes: number | 'always', restarts?: { max: number; windowMs: number; firstDelayMs: number }) {
    const brokers = testBrokers();
    const topic = uniqueName('crash.initiated');
    const dlqTopic = `${topic}.dlq`;
    await createTopics(brokers, [{ topic, numPartitions: 2 }, { topic: dlqTopic }]);
    const kafka = new Kafka({ clientId: 'crash-test', brokers: [brokers], logLevel: logLevel.NOTHING });
    let thrown = 0;
    // kafkajs gives up on a consumer whose handler throws a non-retriable error (the RangeError of a
    // deeply nested record did exactly that); the handler throws such an error here on purpose.
    const crashing = new Proxy(kafka, {
      get(target, prop, receiver) {
        if (prop !== 'consumer') return Reflect.get(target, prop, receiver);
        return (config: Parameters<Kafka['consumer']>[0]): Consumer => {
          const consumer = target.consumer(config);
          const run = consumer.run.bind(consumer);
          consumer.run = (runConfig?: ConsumerRunConfig) =>
            run({
              ...runConfig,
              eachBatch: async (payload: EachBatchPayload) => {
                if (crashes === 'always' || thrown < crashes) {
                  thrown += 1;
                  throw new RangeError('Maximum call stack size exceeded');
                }
                await runConfig!.eachBatch!(payload);
              },
            });
          return consumer;
        };
      },
    });
    const store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
    const producer = createSafeProducer(kafka, silent);
    await producer.connect();
    let fatal: Error | undefined;
    const ingest: IngestConsumer = createIngestConsumer({
      kafka: crashing,
      producer,
      groupId: `${topic}-group`,
      topic,
      deadLetterTopic: dlqTopic,
      antomApi: 'v2',
      batchSize: 100,
      track: createTrackRefunds({ store, clock: { now: () => Date.now() }, firstDelayMs: 3_600_000 }),
      logger: silent,
      sessionTimeoutMs: 6_000,
      onFatal: (err) => (fatal = err),
      ...(restarts ? { restarts } : {}),
    });
    cleanups.push(async () => {
      await ingest.stop();
      await producer.disconnect();
      await store.close();
    });
    return { brokers, topic, store, ingest, thrown: () => thrown, fatal: () => fatal };
  }

  it('a consumer that kafkajs gives up on is rebuilt, and nothing is lost or tracked twice', async () => {
    const { brokers, topic, store, ingest, thrown } = await crashingIngest(1);
    await produce(brokers, topic, Array.from({ length: 200 }, (_, i) => refundRecord(i)));
    await ingest.start().catch(() => undefined);
    await until(async () => (await store.countByStatus()).pending === 200, { timeoutMs: 60_000, intervalMs: 250, message: 'all 200 tracked after the rebuild' });
    expect(thrown()).toBe(1);
    expect(ingest.stats.restarts).toBe(1);
    expect(ingest.stats.tracked).toBe(200);
    await until(() => ingest.health().ok, { timeoutMs: 30_000, message: 'healthy after the rebuild' });
  }, 120_000);

  it('a consumer that cannot be brought back ends in onFatal (the process exits non-zero), never idles as healthy', async () => {
    const { brokers, topic, ingest, fatal } = await crashingIngest('always', { max: 2, windowMs: 60_000, firstDelayMs: 200 });
    await produce(brokers, topic, [refundRecord(1)]);
    await ingest.start().catch(() => undefined);
    const err = await until(fatal, { timeoutMs: 60_000, message: 'onFatal called' });
    expect(err!.message).toMatch(/crashed 3 times within 60 s \(last: .*Maximum call stack size exceeded\)/);
    expect(ingest.stats.restarts).toBe(2);
    expect(ingest.health().ok).toBe(false);
    expect(ingest.health().problems.join(' ')).toMatch(/crashed/);
  }, 120_000);
});
