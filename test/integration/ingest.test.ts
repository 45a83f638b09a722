import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from 'kafkajs';
import type { Service } from '../../src/main.js';
import { collectMessages, until, type MessageCollector } from '../support/kafka.js';
import { storeTarget } from '../../src/composition/settings.js';
import { configFrom, createServiceTopics, inProcessService, isolatedEnv, produce, refundRecord } from '../support/service.js';

describe('ingest against a real broker', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function started(config: ReturnType<typeof configFrom>): Promise<Service> {
    const service = inProcessService(config);
    cleanups.push(() => service.stop());
    await service.start();
    return service;
  }

  async function deadLetters(brokers: string, topic: string): Promise<MessageCollector> {
    const collector = await collectMessages(brokers, topic);
    cleanups.push(() => collector.stop());
    return collector;
  }

  it('tracks valid records, once each, and dead-letters bad ones without stalling the partition', async () => {
    const env = isolatedEnv('ingest');
    const config = configFrom(env);
    // One partition, so the good records after the bad ones prove the partition moved on.
    await createServiceTopics(config, 1);
    const brokers = env.KAFKA_BROKERS!;

    const records: Message[] = [
      refundRecord(1),
      { key: 'bad-json', value: '{"refundId": "R-x",' },
      refundRecord(2),
      { key: 'bad-type', value: JSON.stringify({ refundId: 42, paymentId: 'P' }) },
      { key: 'tombstone', value: null },
      { key: 'dup', value: refundRecord(1).value },
      {
        key: 'ce-no-data',
        value: JSON.stringify({ specversion: '1.0', id: 'e1', source: '/s', type: 'refund.initiated' }),
        headers: { 'content-type': 'application/cloudevents+json', 'x-trace': 'abc' },
      },
      {
        key: 'ce-binary',
        value: refundRecord(3).value,
        headers: { ce_specversion: '1.0', ce_id: 'evt-3', ce_source: '/payments', ce_type: 'refund.initiated' },
      },
      {
        key: 'ce-structured',
        value: JSON.stringify({
          specversion: '1.0',
          id: 'evt-4',
          source: '/payments',
          type: 'refund.initiated',
          data: JSON.parse(String(refundRecord(4).value)),
        }),
      },
      refundRecord(5),
    ];
    await produce(brokers, config.values.TOPIC_REFUND_INITIATED, records);

    const dlq = await deadLetters(brokers, config.values.TOPIC_DEAD_LETTER);
    const service = await started(config);

    await until(async () => (await service.store.countByStatus()).pending === 5, { message: 'five refunds tracked' });
    await until(() => dlq.messages.length === 4, { message: 'four records dead-lettered' });

    const tracked = await service.store.listRefunds({ limit: 10 });
    expect(tracked.map((r) => r.id)).toEqual(['RF-0000001', 'RF-0000002', 'RF-0000003', 'RF-0000004', 'RF-0000005']);
    expect(tracked.find((r) => r.id === 'RF-0000003')?.origin).toMatchObject({ eventId: 'evt-3', partition: 0 });
    // The duplicate of refund 1 changed nothing: one timeline entry, first origin kept.
    expect(await service.store.timeline('RF-0000001')).toHaveLength(1);
    expect((await service.store.getRefund('RF-0000001'))?.origin.offset).toBe('0');
    expect(service.ingest.stats).toMatchObject({ tracked: 5, duplicates: 1, deadLettered: 4 });

    const byKey = new Map(dlq.messages.map((m) => [m.key, m]));
    expect(byKey.get('bad-json')).toMatchObject({
      value: '{"refundId": "R-x",',
      headers: {
        'x-dlq-source-topic': config.values.TOPIC_REFUND_INITIATED,
        'x-dlq-source-partition': '0',
        'x-dlq-source-offset': '1',
        'x-dlq-reason': expect.stringMatching(/not valid JSON/),
      },
    });
    expect(byKey.get('bad-type')?.headers['x-dlq-reason']).toMatch(/refundId must be a string/);
    expect(byKey.get('tombstone')).toMatchObject({ value: null, headers: { 'x-dlq-reason': 'the record value is empty', 'x-dlq-source-offset': '4' } });
    // Original headers travel with the record.
    expect(byKey.get('ce-no-data')?.headers).toMatchObject({ 'x-trace': 'abc', 'x-dlq-reason': 'CloudEvent has no data' });
  });

  it('loses nothing and duplicates nothing when stopped and restarted mid-stream', async () => {
    const env = isolatedEnv('restart', { INGEST_BATCH_SIZE: '50' });
    const config = configFrom(env);
    await createServiceTopics(config, 3);
    const brokers = env.KAFKA_BROKERS!;
    const total = 3_000;
    const first = Array.from({ length: total / 2 }, (_, i) => refundRecord(i));
    const second = Array.from({ length: total / 2 }, (_, i) => refundRecord(total / 2 + i));
    // Replays of earlier records: redelivery must not create duplicates.
    const replays = Array.from({ length: 200 }, (_, i) => refundRecord(i * 5));
    await produce(brokers, config.values.TOPIC_REFUND_INITIATED, first);

    const a = inProcessService(config);
    await a.start();
    await until(async () => (await a.store.countByStatus()).pending >= 300, { message: 'some refunds tracked by the first instance' });
    await produce(brokers, config.values.TOPIC_REFUND_INITIATED, second);
    await a.stop();
    const afterFirst = (await configFromStore(config)).pending;
    expect(afterFirst).toBeLessThanOrEqual(total);

    await produce(brokers, config.values.TOPIC_REFUND_INITIATED, replays);
    const b = await started(config);
    await until(async () => (await b.store.countByStatus()).pending === total, {
      timeoutMs: 30_000,
      message: `all ${total} refunds tracked after the restart`,
    });
    // Every refund has exactly one "tracked" entry: nothing was tracked twice.
    for (const n of [0, 5, 1499, 1500, 2999]) {
      expect(await b.store.timeline(`RF-${String(n).padStart(7, '0')}`)).toHaveLength(1);
    }
    expect(b.ingest.stats.tracked + afterFirst).toBe(total);
  });
});

async function configFromStore(config: ReturnType<typeof configFrom>) {
  const { createStore } = await import('../../src/adapters/store/create-store.js');
  const store = createStore(storeTarget(config));
  try {
    return await store.countByStatus();
  } finally {
    await store.close();
  }
}
