/**
 * Proves kafkajs 2.2.4 works against the broker version pinned in scripts/kafka/pom.xml. kafkajs'
 * own CI stopped at Kafka 2.4 and Kafka 4.0 removed old protocol versions (KIP-896), so every API
 * the service and its tests rely on is exercised once here. A failure with UNSUPPORTED_VERSION
 * means the pin must move (docs/kafka.md).
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigResourceTypes, Kafka, Partitioners, logLevel, type Admin } from 'kafkajs';
import { collectMessages, testBrokers, uniqueName, until } from '../support/kafka.js';

// kafkajs internals, for the API-version check only: the public API does not expose which protocol
// versions were negotiated. kafkajs is pinned at 2.2.4 and has no "exports" map, so these paths are stable.
const require = createRequire(import.meta.url);
interface ApiVersionRange {
  minVersion: number;
  maxVersion: number;
}
interface KafkajsBroker {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  versions: Record<string, ApiVersionRange>;
}
type Ctor<T> = new (options: Record<string, unknown>) => T;
const ConnectionPool = require('kafkajs/src/network/connectionPool') as Ctor<unknown>;
const Broker = require('kafkajs/src/broker') as Ctor<KafkajsBroker>;
const createSocketFactory = require('kafkajs/src/network/socketFactory') as () => unknown;
const { createLogger, LEVELS } = require('kafkajs/src/loggers') as {
  createLogger: (o: { level: number; logCreator: () => () => void }) => unknown;
  LEVELS: { NOTHING: number };
};
const apiKeys = require('kafkajs/src/protocol/requests/apiKeys') as Record<string, number>;
const { requests } = require('kafkajs/src/protocol/requests') as { requests: Record<string, { versions: string[] }> };

describe('kafkajs 2.2.4 against the local broker', () => {
  const brokers = testBrokers();
  const kafka = new Kafka({ clientId: 'kafka-smoke', brokers: [brokers], logLevel: logLevel.ERROR });
  let admin: Admin;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  it('describes a one-broker cluster', async () => {
    const cluster = await admin.describeCluster();
    expect(cluster.brokers).toHaveLength(1);
    expect(cluster.controller).toBe(cluster.brokers[0]?.nodeId);
  });

  it('negotiates a version the broker supports for every API kafkajs implements', async () => {
    // kafkajs picks min(its highest version, broker's max) and never looks at the broker's min
    // (src/protocol/requests/index.js), so it breaks exactly when its highest version falls below
    // the broker's min, which is what Kafka's protocol removals (KIP-896 in 4.0) do. This checks
    // every API at once, also the ones the other tests do not call.
    const [host, port] = brokers.split(':');
    const logger = createLogger({ level: LEVELS.NOTHING, logCreator: () => () => {} });
    const connectionPool = new ConnectionPool({
      host,
      port: Number(port),
      logger,
      clientId: 'kafka-smoke-api-versions',
      connectionTimeout: 2_000,
      requestTimeout: 5_000,
      enforceRequestTimeout: true,
      socketFactory: createSocketFactory(),
    });
    const broker = new Broker({ connectionPool, logger });
    await broker.connect();
    try {
      const unusable: string[] = [];
      for (const [name, key] of Object.entries(apiKeys)) {
        const implemented = requests[name]?.versions.map(Number) ?? [];
        if (implemented.length === 0) continue; // broker-internal APIs kafkajs never sends
        const range = broker.versions[String(key)];
        const chosen = Math.min(Math.max(...implemented), range?.maxVersion ?? -1);
        if (range === undefined || chosen < range.minVersion) {
          unusable.push(`${name}: kafkajs would send v${chosen}, broker accepts ${range ? `v${range.minVersion}-v${range.maxVersion}` : 'nothing'}`);
        }
      }
      expect(unusable).toEqual([]);
    } finally {
      await broker.disconnect();
    }
  });

  it('creates, lists, describes and deletes topics', async () => {
    const topic = uniqueName('smoke-admin');
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
      waitForLeaders: true,
    });
    expect(created).toBe(true);
    expect(await admin.listTopics()).toContain(topic);

    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics[0]?.partitions).toHaveLength(3);
    expect(topics[0]?.partitions.every((p) => p.leader === 1)).toBe(true);

    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'cleanup.policy'] }],
    });
    const entries = Object.fromEntries(
      (described.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]),
    );
    expect(entries).toEqual({ 'retention.ms': '3600000', 'cleanup.policy': 'delete' });

    // Creating it again is reported, not thrown: the helpers rely on that. kafkajs also logs the
    // broker's TOPIC_ALREADY_EXISTS at ERROR level, hence a silent client for this one call.
    const quietAdmin = new Kafka({ clientId: 'kafka-smoke-quiet', brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
    await quietAdmin.connect();
    try {
      expect(await quietAdmin.createTopics({ topics: [{ topic }] })).toBe(false);
    } finally {
      await quietAdmin.disconnect();
    }

    await admin.deleteTopics({ topics: [topic] });
    await until(async () => !(await admin.listTopics()).includes(topic), {
      message: `topic ${topic} still listed after deleteTopics`,
    });
  });

  it('produces idempotently, consumes in a group, commits and reads committed offsets back', async () => {
    const topic = uniqueName('smoke-flow');
    const groupId = uniqueName('smoke-group');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });

    const producer = kafka.producer({
      idempotent: true,
      // Idempotence needs a single in-flight request per connection to keep ordering guarantees.
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: 6_000,
      heartbeatInterval: 1_000,
      // disconnect() waits for the in-flight fetch; the 5 s default would be added to the test.
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
    });
    try {
      await producer.connect();
      const keys = ['refund-a', 'refund-b', 'refund-c', 'refund-d', 'refund-e', 'refund-f'];
      const sent = await producer.send({
        topic,
        acks: -1,
        messages: keys.map((key, i) => ({ key, value: JSON.stringify({ i }), headers: { 'x-seq': String(i) } })),
      });
      expect(sent.every((r) => r.errorCode === 0)).toBe(true);

      const offsets = await admin.fetchTopicOffsets(topic);
      expect(offsets.reduce((sum, p) => sum + Number(p.high), 0)).toBe(keys.length);

      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      const received: Array<{ key: string; partition: number; offset: string; seq: string }> = [];
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          received.push({
            key: message.key?.toString() ?? '',
            partition,
            offset: message.offset,
            seq: message.headers?.['x-seq']?.toString() ?? '',
          });
          // Explicit commit so the test proves OffsetCommit, not kafkajs' auto-commit timing.
          await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
        },
      });
      await joined;
      await until(() => received.length === keys.length, { message: `consumer received ${received.length}/${keys.length} messages` });
      expect(received.map((m) => m.key).sort()).toEqual(keys);
      expect(received.map((m) => m.seq).sort()).toEqual(['0', '1', '2', '3', '4', '5']);

      const groups = await admin.describeGroups([groupId]);
      expect(groups.groups[0]).toMatchObject({ groupId, state: 'Stable', protocolType: 'consumer' });
      expect(groups.groups[0]?.members).toHaveLength(1);
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).toContain(groupId);

      const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      const committedTotal = committed[0]?.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
      expect(committedTotal).toBe(keys.length);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
    }

    // An empty group can be deleted; a member-less group is what a stopped service leaves behind.
    await admin.deleteGroups([groupId]);
    await admin.deleteTopics({ topics: [topic] });
  });

  it('collects messages through the test helper, headers and partitions included', async () => {
    const topic = uniqueName('smoke-collect');
    // One partition, explicitly: the order asserted below holds only within a partition, and an
    // external broker (KAFKA_BROKERS) may default to more.
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    const collector = await collectMessages(brokers, topic);
    try {
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k1', value: 'v1', headers: { h: 'x' } }, { key: null, value: null }] });
      await until(() => collector.messages.length === 2, { message: 'collector did not see 2 messages' });
      expect(collector.messages[0]).toMatchObject({ topic, key: 'k1', value: 'v1', headers: { h: 'x' }, partition: 0, offset: '0' });
      expect(collector.messages[1]).toMatchObject({ key: null, value: null, offset: '1' });
    } finally {
      await collector.stop();
      await collector.stop();
      await producer.disconnect();
    }
    await admin.deleteTopics({ topics: [topic] });
  });
});
