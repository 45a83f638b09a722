/**
 * bench/ingest: how fast refund-initiated records become durable tracking records, against how
 * fast a bare kafkajs consumer merely reads the same records, in one run on one broker.
 *
 *   npx tsx bench/ingest.ts [--records 100000] [--partitions 3] [--synchronous full|normal] [--batch 500]
 *
 * Starts a local broker from the Maven jars unless KAFKA_BROKERS is set. Prints figures; asserts
 * nothing (targets are in docs/performance.md).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { Kafka, logLevel, type KafkaMessage, type Message } from 'kafkajs';
import { createLogger } from '../src/adapters/log/logger.js';
import { loadConfig } from '../src/config/load.js';
import { createService } from '../src/main.js';
import { generateAntomKeyPair } from '../src/adapters/antom/keys.js';
import { createTopics } from '../src/devtools/local-kafka.js';
import { benchKafka } from './support.js';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    partitions: { type: 'string', default: '3' },
    synchronous: { type: 'string', default: 'full' },
    batch: { type: 'string', default: '500' },
  },
});
const RECORDS = Number(args.records);
const PARTITIONS = Number(args.partitions);
const REPO = join(import.meta.dirname, '..');

function record(n: number): Message {
  const refundId = `BR-${String(n).padStart(8, '0')}`;
  // A realistic record: ~330 bytes of JSON with amount, customer and metadata.
  return {
    key: refundId,
    value: JSON.stringify({
      refundId,
      refundRequestId: `RQ-${n}`,
      paymentId: `PAY-${n}`,
      refundAmount: { currency: 'USD', value: String(100 + (n % 50_000)) },
      merchantAccountId: 'M-1',
      paymentMethodType: 'ALIPAY_CN',
      customer: { email: `customer${n}@example.com`, name: `Customer ${n}`, locale: 'en' },
      initiatedAt: new Date(1_764_000_000_000 + n).toISOString(),
      metadata: { orderId: `ORD-${n}`, channel: 'web' },
    }),
  };
}

async function produceAll(brokers: string, topic: string): Promise<number> {
  const kafka = new Kafka({ clientId: 'bench-producer', brokers: [brokers], logLevel: logLevel.ERROR });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const started = performance.now();
  const chunk = 1_000;
  for (let i = 0; i < RECORDS; i += chunk) {
    const messages = Array.from({ length: Math.min(chunk, RECORDS - i) }, (_, j) => record(i + j));
    await producer.send({ topic, messages, acks: -1 });
  }
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  return seconds;
}

interface Stage {
  seconds: number;
  /** CPU of this process (all its threads) per record, from joining the group to the last record. */
  cpuUsPerRecord: number;
}

/**
 * Runs a fresh kafkajs consumer group over the topic from the beginning. `handle` processes one
 * batch and returns how many records it counts as done; the stage ends when RECORDS are done.
 * Time and CPU run from joining the group to that moment.
 */
async function timeConsumerGroup(
  brokers: string,
  topic: string,
  name: string,
  maxBytesPerPartition: number,
  handle: (messages: KafkaMessage[]) => number,
): Promise<Stage> {
  const kafka = new Kafka({ clientId: `bench-${name}`, brokers: [brokers], logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({ groupId: `bench-${name}-${Date.now()}`, maxBytesPerPartition });
  let done = 0;
  let joinedAt = 0;
  let doneAt = 0;
  let cpuAtJoin = process.cpuUsage();
  let cpuAtDone = cpuAtJoin;
  const finished = new Promise<void>((resolve) => {
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joinedAt = performance.now();
      cpuAtJoin = process.cpuUsage();
    });
    void consumer.connect().then(async () => {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          done += handle(batch.messages);
          if (done >= RECORDS && doneAt === 0) {
            doneAt = performance.now();
            cpuAtDone = process.cpuUsage(cpuAtJoin);
            resolve();
          }
        },
      });
    });
  });
  await finished;
  await consumer.disconnect();
  return { seconds: (doneAt - joinedAt) / 1000, cpuUsPerRecord: (cpuAtDone.user + cpuAtDone.system) / RECORDS };
}

/** The baseline: a kafkajs consumer group that only counts what it reads. */
function bareConsumer(brokers: string, topic: string): Promise<Stage> {
  return timeConsumerGroup(brokers, topic, 'bare', 1_048_576, (messages) => {
    let seen = 0;
    for (const m of messages) if (m.value) seen += 1;
    return seen;
  });
}

/**
 * A reference point between the two: the least a consumer must do to make records durable. It
 * parses each value (to learn its id) and writes only the id and the raw value into a SQLite table
 * with nothing but its primary key, one transaction per batch, on this thread, committing offsets
 * after the write. No validation, no columns, no secondary indexes, no timeline, no worker.
 */
async function minimalDurableConsumer(brokers: string, topic: string): Promise<Stage> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-minimal-'));
  const db = new Database(join(dir, 'minimal.db'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${args.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.exec('create table records (key text primary key, value text not null) without rowid');
  const insert = db.prepare('insert into records (key, value) values (?, ?) on conflict do nothing');
  const writeAll = db.transaction((rows: Array<[string, string]>) => {
    for (const [key, value] of rows) insert.run(key, value);
  });
  const stage = await timeConsumerGroup(brokers, topic, 'minimal', 4_194_304, (messages) => {
    const rows: Array<[string, string]> = [];
    for (const m of messages) {
      if (!m.value) continue;
      const text = m.value.toString('utf8');
      const parsed = JSON.parse(text) as { refundId: string };
      rows.push([parsed.refundId, text]);
    }
    writeAll(rows);
    return rows.length;
  });
  const count = (db.prepare('select count(*) as n from records').get() as { n: number }).n;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  if (count !== RECORDS) throw new Error(`expected ${RECORDS} minimal rows, found ${count}`);
  return stage;
}

async function trackingService(brokers: string, topic: string): Promise<Stage & { rssMb: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
  // Credentials that point nowhere, and a first inquiry an hour away: this measures the ingest alone.
  // Our key pair, and Antom's (a separate pair: the service refuses our own public key as Antom's).
  const keys = generateAntomKeyPair();
  const antom = generateAntomKeyPair();
  const config = loadConfig({
    cwd: REPO,
    env: {
      ANTOM_CLIENT_ID: 'SANDBOX_BENCH',
      ANTOM_PRIVATE_KEY: keys.privateKey,
      ANTOM_PUBLIC_KEY: antom.publicKey,
      ANTOM_BASE_URL: 'http://127.0.0.1:9',
      POLL_FIRST_DELAY: '1h',
      POLL_MAX_INTERVAL: '2h',
      CONFIG_DIR: join(REPO, 'config'),
      KAFKA_BROKERS: brokers,
      KAFKA_GROUP_ID: `bench-ingest-${Date.now()}`,
      KAFKA_CREATE_TOPICS: 'false',
      TOPIC_REFUND_INITIATED: topic,
      TOPIC_DEAD_LETTER: `${topic}.dlq`,
      DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`,
      SQLITE_SYNCHRONOUS: args.synchronous!,
      INGEST_BATCH_SIZE: args.batch!,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      ADMIN_PORT: '0',
      LOG_LEVEL: 'warn',
    },
  });
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  const service = createService(config, { logger: createLogger({ level: 'warn', destination: quiet }) });
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  await service.start(); // resolves once the consumer joined its group
  const joinedAt = performance.now();
  const cpuAtJoin = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (service.ingest.stats.tracked >= RECORDS) {
        clearInterval(check);
        resolve();
      }
    }, 5);
  });
  const seconds = (performance.now() - joinedAt) / 1000;
  // All threads of this process: the consumer's, the SQLite worker's, V8's garbage collector's.
  const cpu = process.cpuUsage(cpuAtJoin);
  clearInterval(sampler);
  const counts = await service.store.countByStatus();
  if (counts.pending !== RECORDS) throw new Error(`expected ${RECORDS} tracked, store holds ${counts.pending}`);
  await service.stop();
  rmSync(dir, { recursive: true, force: true });
  return { seconds, rssMb: peakRss / 1_048_576, cpuUsPerRecord: (cpu.user + cpu.system) / RECORDS };
}

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0]!;
  const kafka = await benchKafka();
  const brokers = kafka.brokers;
  try {
    const topic = `bench-ingest-${Date.now()}`;
    await createTopics(brokers, [{ topic, numPartitions: PARTITIONS }, { topic: `${topic}.dlq` }]);
    const produceSeconds = await produceAll(brokers, topic);
    const bare = await bareConsumer(brokers, topic);
    const minimal = await minimalDurableConsumer(brokers, topic);
    const tracked = await trackingService(brokers, topic);
    const bareRate = RECORDS / bare.seconds;
    const trackedRate = RECORDS / tracked.seconds;
    const minimalRate = RECORDS / minimal.seconds;
    const rows = [
      ['records', RECORDS.toLocaleString('en')],
      ['partitions', String(PARTITIONS)],
      ['SQLITE_SYNCHRONOUS / INGEST_BATCH_SIZE', `${args.synchronous} / ${args.batch}`],
      ['load average at the start (1 min)', loadAtStart.toFixed(2)],
      ['produce (idempotent, acks=all)', `${(RECORDS / produceSeconds).toFixed(0)} records/s`],
      ['bare kafkajs consumer', `${bareRate.toFixed(0)} records/s (${bare.seconds.toFixed(2)} s), ${bare.cpuUsPerRecord.toFixed(1)} µs CPU/record`],
      ['minimal durable consumer (id + raw value)', `${minimalRate.toFixed(0)} records/s (${minimal.seconds.toFixed(2)} s), ${minimal.cpuUsPerRecord.toFixed(1)} µs CPU/record`],
      ['ratio minimal / bare', `${((minimalRate / bareRate) * 100).toFixed(1)} %`],
      ['tracked durably (ingest)', `${trackedRate.toFixed(0)} records/s (${tracked.seconds.toFixed(2)} s)`],
      ['ratio ingest / bare', `${((trackedRate / bareRate) * 100).toFixed(1)} %`],
      // The targets (docs/performance.md): at least 60 % of the minimal durable consumer measured
      // in the same run, and at least 20,000 tracked records/s.
      ['ratio ingest / minimal durable (target ≥ 60 %)', `${((trackedRate / minimalRate) * 100).toFixed(1)} % ${trackedRate / minimalRate >= 0.6 ? 'met' : 'NOT met'}`],
      ['tracked records/s (target ≥ 20,000)', `${trackedRate.toFixed(0)} ${trackedRate >= 20_000 ? 'met' : 'NOT met'}`],
      ['CPU of this process while tracking', `${tracked.cpuUsPerRecord.toFixed(1)} µs/record`],
      ['peak RSS of this process', `${tracked.rssMb.toFixed(0)} MB`],
    ];
    const width = Math.max(...rows.map(([k]) => k!.length));
    for (const [k, v] of rows) console.log(`${k!.padEnd(width)}  ${v}`);
  } finally {
    await kafka.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
