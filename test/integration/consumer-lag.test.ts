import { Writable } from 'node:stream';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumerLag, type ConsumerLag } from '../../src/adapters/kafka/consumer-lag.js';
import { createLogger } from '../../src/adapters/log/logger.js';
import { createTopics } from '../../src/devtools/local-kafka.js';
import { testBrokers, uniqueName } from '../support/kafka.js';

/**
 * The consumer lag as /metrics reads it (src/adapters/kafka/consumer-lag.ts), from a real broker:
 * a group that has committed nothing is behind by every record; a commit moves it.
 */
describe('consumer lag from the broker', () => {
  const topic = uniqueName('lag');
  const groupId = uniqueName('lag-group');
  const log = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });
  let kafka: Kafka;
  let lag: ConsumerLag;

  beforeAll(async () => {
    const brokers = testBrokers();
    await createTopics(brokers, [{ topic, numPartitions: 2 }]);
    kafka = new Kafka({ clientId: 'lag-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [0, 0, 0, 1, 1].map((partition, i) => ({ partition, key: `k${i}`, value: `v${i}` })),
    });
    await producer.disconnect();
    // Asked afresh on every read.
    lag = createConsumerLag({ kafka, groupId, topic, now: () => Date.now(), log, refreshMs: 0 });
  });

  afterAll(async () => {
    await lag?.close();
  });

  it('is every record while the group has committed nothing, and what is left after a commit', async () => {
    expect(await lag.read()).toEqual([
      { topic, partition: 0, lag: 3 },
      { topic, partition: 1, lag: 2 },
    ]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }, { partition: 1, offset: '2' }] });
    } finally {
      await admin.disconnect();
    }
    expect(await lag.read()).toEqual([
      { topic, partition: 0, lag: 2 },
      { topic, partition: 1, lag: 0 },
    ]);
  });
});
