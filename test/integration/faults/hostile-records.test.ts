import { createHash } from 'node:crypto';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Service } from '../../../src/main.js';
import type { AntomSandbox } from '../../../src/simulator/sandbox.js';
import { collectMessages, until, type MessageCollector } from '../../support/kafka.js';
import type { SettingValues } from '../../../src/config/settings.js';
import { configFrom, inProcessService, isolatedEnv, produce, refundRecord, testSandbox } from '../../support/service.js';

/**
 * The fault suite, hostile input (docs/reliability.md): more than a thousand malformed records of
 * every class the ingest knows, interleaved with more than a thousand good ones, on three
 * partitions of a real broker. Every good refund must be tracked and reach its outcome, every bad
 * record must reach the dead-letter topic exactly once with its reason, and the consumer must never
 * stop, pause or restart.
 */

const GOOD = 1_000;
const BAD_TIMESTAMPS = 100; // good records whose Kafka timestamp is unusable (ns and µs producers)
const PER_CLASS = 100;

/** JSON text nested `levels` deep, written by hand (JSON.stringify would overflow). */
const deepObject = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
const deepArray = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
const recordJson = (n: number) => JSON.parse(String(refundRecord(n).value)) as Record<string, unknown>;

interface BadClass {
  name: string;
  reason: RegExp;
  make(i: number): Pick<Message, 'value' | 'headers'>;
}

const BAD_CLASSES: BadClass[] = [
  {
    name: 'metadata nested 3,000 levels',
    reason: /nests deeper than/,
    make: (i) => ({ value: `{"refundId":"RF-DEEP-${i}","paymentId":"P","metadata":{"x":${deepObject(3000)}}}` }),
  },
  { name: 'value nested 3,000 levels', reason: /the record value nests deeper than 32 levels/, make: () => ({ value: deepArray(3000) }) },
  { name: 'invalid UTF-8', reason: /not valid UTF-8/, make: () => ({ value: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) }) },
  {
    name: 'NUL in customer.name',
    reason: /customer\.name contains a control character \(U\+0000\)/,
    make: (i) => ({ value: JSON.stringify({ ...recordJson(900_000 + i), customer: { name: 'Jane\u0000Doe' } }) }),
  },
  {
    name: 'C0 control in refundReason',
    reason: /refundReason contains a control character \(U\+0007\)/,
    make: (i) => ({ value: JSON.stringify({ ...recordJson(900_000 + i), refundReason: 'ring\u0007bell' }) }),
  },
  {
    name: 'lone surrogate in a metadata key',
    reason: /lone surrogate \(U\+D800\)/,
    make: (i) => ({ value: `{"refundId":"RF-SUR-${i}","paymentId":"P","metadata":{"k\\ud800":1}}` }),
  },
  { name: 'wrong type', reason: /refundId must be a string/, make: () => ({ value: JSON.stringify({ refundId: 42, paymentId: 'P' }) }) },
  { name: 'missing paymentId', reason: /paymentId is required/, make: (i) => ({ value: JSON.stringify({ refundId: `RF-NOPAY-${i}` }) }) },
  { name: 'not JSON', reason: /not valid JSON/, make: (i) => ({ value: `{"refundId": "RF-${i}",` }) },
  { name: 'tombstone', reason: /value is empty/, make: () => ({ value: null }) },
  {
    name: 'CloudEvent without data',
    reason: /CloudEvent has no data/,
    make: (i) => ({ value: JSON.stringify({ specversion: '1.0', id: `e-${i}`, source: '/p', type: 't' }), headers: { 'content-type': 'application/cloudevents+json' } }),
  },
  {
    name: 'negative amount',
    reason: /refundAmount\.value/,
    make: (i) => ({ value: JSON.stringify({ ...recordJson(900_000 + i), refundAmount: { currency: 'USD', value: -5 } }) }),
  },
];

describe('fault suite: hostile records', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('tracks and finishes every good refund, dead-letters every bad record once with its reason, never stops', async () => {
    const sandbox: AntomSandbox = await testSandbox();
    cleanups.push(() => sandbox.close());
    const env = isolatedEnv('hostile', {
      ...sandbox.serviceEnv('v2'),
      POLL_FIRST_DELAY: '100ms',
      POLL_MAX_INTERVAL: '2s',
      ANTOM_RATE_LIMIT: '1000',
      ANTOM_CONCURRENCY: '32',
      INGEST_BATCH_SIZE: '500',
    });
    const config = configFrom(env);
    const brokers = env.KAFKA_BROKERS!;
    await createTopics(brokers, config.values);

    sandbox.createRefunds(
      Array.from({ length: GOOD + BAD_TIMESTAMPS }, (_, n) => ({ refundId: `RF-${String(n).padStart(7, '0')}`, refundRequestId: `RQ-${n}`, paymentId: `PAY-${n}`, notify: false })),
    );

    // The stream, partition by partition: good and bad records interleaved, one run of 500 records
    // of ~5 KB (the dead-letter requests must be bounded by bytes, not count), a few 200 KB ones
    // and two of ~1 MB (too large to copy whole with headers: stubs).
    const records: Array<Message & { partition: number }> = [];
    const expected = new Map<string, RegExp>(); // key -> reason of every bad record
    const bad = (key: string, reason: RegExp, m: Pick<Message, 'value' | 'headers'>) => {
      expected.set(key, reason);
      records.push({ key, ...m, partition: records.length % 3 });
    };
    let good = 0;
    const nextGood = (timestamp?: string) => {
      const n = good++;
      records.push({ ...refundRecord(n), ...(timestamp ? { timestamp } : {}), partition: records.length % 3 });
    };
    for (let i = 0; i < PER_CLASS; i++) {
      for (const [c, cls] of BAD_CLASSES.entries()) {
        bad(`bad-${c}-${i}`, cls.reason, cls.make(i));
        if (good < GOOD) nextGood();
      }
    }
    while (good < GOOD) nextGood();
    // Producers that write nanoseconds or microseconds: tracked, with the consumption time.
    const now = Date.now();
    for (let i = 0; i < BAD_TIMESTAMPS; i++) nextGood(i % 2 === 0 ? `${now}000000` : `${now}000`);
    const fiveKb = { blob: 'x'.repeat(5_000) };
    for (let i = 0; i < 500; i++) {
      expected.set(`big-${i}`, /metadata is larger than 4096 bytes/);
      records.push({ key: `big-${i}`, value: JSON.stringify({ refundId: `RF-BIG-${i}`, paymentId: 'P', metadata: fiveKb }), partition: 0 });
    }
    for (let i = 0; i < 10; i++) bad(`huge-${i}`, /metadata is larger than 4096 bytes/, { value: JSON.stringify({ refundId: `RF-HUGE-${i}`, paymentId: 'P', metadata: { blob: 'y'.repeat(200_000) } }) });
    const oversize = [0, 1].map((i) => Buffer.from(JSON.stringify({ refundId: `RF-OVER-${i}`, paymentId: 'P', metadata: { blob: 'z'.repeat(1_000_000) } })));
    oversize.forEach((value, i) => bad(`oversize-${i}`, /metadata is larger than 4096 bytes.*dead-lettered as a stub/, { value }));

    const dlq: MessageCollector = await collectMessages(brokers, config.values.TOPIC_DEAD_LETTER);
    cleanups.push(() => dlq.stop());
    const service: Service = inProcessService(config);
    cleanups.push(() => service.stop());
    await service.start();
    const began = Date.now();
    await produceBySize(brokers, config.values.TOPIC_REFUND_INITIATED, records);

    const total = GOOD + BAD_TIMESTAMPS;
    await until(async () => (await service.store.countByStatus()).pending + (await service.store.countByStatus()).completed === total, {
      timeoutMs: 60_000,
      intervalMs: 250,
      message: `all ${total} good refunds tracked (ingest ${JSON.stringify(service.ingest.stats)})`,
    });
    // A record reusing a tracked refund's request id for another refund: dead-lettered, not dropped.
    for (let i = 0; i < PER_CLASS; i++) {
      expected.set(`clash-${i}`, /refundRequestId RQ-\d+ is already tracked for refundId RF-\d+; this record names refundId RF-CLASH-/);
    }
    await produce(
      brokers,
      config.values.TOPIC_REFUND_INITIATED,
      Array.from({ length: PER_CLASS }, (_, i) => ({ key: `clash-${i}`, value: JSON.stringify({ ...recordJson(i * 7), refundId: `RF-CLASH-${i}` }) })),
    );

    await until(() => dlq.messages.length >= expected.size, {
      timeoutMs: 60_000,
      intervalMs: 250,
      message: `all ${expected.size} bad records dead-lettered (${dlq.messages.length} so far)`,
    });
    await until(async () => (await service.store.countByStatus()).completed === total, {
      timeoutMs: 60_000,
      intervalMs: 250,
      message: `all ${total} good refunds completed`,
    });

    // Every bad record exactly once, each with its own reason and origin.
    const seen = new Map<string, number>();
    for (const m of dlq.messages) seen.set(m.key!, (seen.get(m.key!) ?? 0) + 1);
    expect([...seen.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(new Set(seen.keys())).toEqual(new Set(expected.keys()));
    const wrongReason = dlq.messages.filter((m) => !expected.get(m.key!)!.test(m.headers['x-dlq-reason'] ?? '')).map((m) => `${m.key}: ${m.headers['x-dlq-reason']}`);
    expect(wrongReason).toEqual([]);
    for (const m of dlq.messages) {
      expect(m.headers['x-dlq-source-topic']).toBe(config.values.TOPIC_REFUND_INITIATED);
      expect(m.headers['x-dlq-source-offset']).toMatch(/^\d+$/);
    }
    // Copied whole, byte for byte, unless too large: then a stub that names the original.
    const byKey = new Map(dlq.messages.map((m) => [m.key!, m]));
    expect(byKey.get('huge-3')!.value).toBe(String(records.find((r) => r.key === 'huge-3')!.value));
    oversize.forEach((value, i) => {
      const stub = byKey.get(`oversize-${i}`)!;
      expect(stub.headers).toMatchObject({
        'x-dlq-truncated': 'true',
        'x-dlq-original-size': String(value.length),
        'x-dlq-original-sha256': createHash('sha256').update(value).digest('hex'),
      });
      expect(Buffer.byteLength(stub.value!)).toBe(64 * 1024);
    });

    // The unusable timestamps: tracked, and the timeline says the consumption time stood in.
    const late = await service.store.getRefund(`RF-${String(GOOD + 1).padStart(7, '0')}`);
    expect(late?.origin.timestampNote).toMatch(/not a plausible epoch-millisecond time.*the time of consumption was used/);
    expect(Math.abs(Date.parse(late!.initiatedAt) - now)).toBeLessThan(10 * 60_000);
    expect((await service.store.timeline(late!.id))[0]!.message).toMatch(/the time of consumption was used/);

    const classes = BAD_CLASSES.length + 3; // + 5 KB run, 200 KB, ~1 MB stubs (+ clashes below)
    console.log(
      `[hostile-records] ${total} good refunds (${BAD_TIMESTAMPS} with unusable timestamps) and ${expected.size} bad records of ${classes + 1} classes on 3 partitions: ${total} tracked and completed, ${dlq.messages.length} dead-lettered (each once, 2 as stubs), 0 lost, ${service.ingest.stats.restarts} restarts, ${service.ingest.stats.pauses} pauses, in ${((Date.now() - began) / 1000).toFixed(1)} s`,
    );
    // The consumer never stopped: no crash, no restart, no pause.
    expect(service.ingest.stats).toMatchObject({ restarts: 0, pauses: 0, tracked: total, deadLettered: expected.size, conflicts: PER_CLASS, stubbed: 2 });
    expect(service.ingest.health()).toEqual({ ok: true, problems: [] });
  }, 240_000);
});

/** The input topics, with timestamps accepted as producers write them (Kafka 4 refuses far-future ones by default). */
async function createTopics(brokers: string, v: SettingValues) {
  const admin = new Kafka({ clientId: 'hostile-admin', brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: v.TOPIC_REFUND_INITIATED, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'message.timestamp.after.max.ms', value: '9223372036854775807' }] },
        ...[v.TOPIC_REFUND_COMPLETED, v.TOPIC_REFUND_FAILED, v.TOPIC_REFUND_STALLED, v.TOPIC_DEAD_LETTER].map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

/** Produces in requests of at most ~900 KB (the broker's limit is per request batch), in order per partition. */
async function produceBySize(brokers: string, topic: string, records: Array<Message & { partition: number }>): Promise<void> {
  const kafka = new Kafka({ clientId: 'hostile-producer', brokers: [brokers], logLevel: logLevel.ERROR });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    let batch: Message[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length > 0) await producer.send({ topic, messages: batch, acks: -1 });
      batch = [];
      bytes = 0;
    };
    for (const r of records) {
      const size = (r.value === null || r.value === undefined ? 0 : Buffer.byteLength(r.value as string | Buffer)) + 100;
      if (bytes + size > 900_000) await flush();
      batch.push(r);
      bytes += size;
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
}
