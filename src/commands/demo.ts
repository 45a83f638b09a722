import { mkdirSync, createWriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '../adapters/log/logger.js';
import { loadConfig } from '../config/load.js';
import { sampleEvents } from '../demo/sample-events.js';
import { createTopics, startLocalKafka, type LocalKafka } from '../devtools/local-kafka.js';
import { createService } from '../main.js';
import type { CommandIo } from './io.js';

/**
 * `refund-notifier demo`: the whole mission on one machine. Starts a local Kafka broker (from
 * the Maven jars; or uses KAFKA_BROKERS), runs the service, produces sample refund-initiated
 * records, good and bad, and shows what became of each: tracked, or dead-lettered with its
 * reason. `--keep` leaves everything running until Ctrl-C.
 */
export async function demoCommand(args: string[], io: CommandIo): Promise<number> {
  const keep = args.includes('--keep');
  const outDir = resolve(io.env.DEMO_DIR ?? 'demo-out');
  mkdirSync(outDir, { recursive: true });
  const runId = Date.now().toString(36).toUpperCase();
  const step = (text: string) => io.out(`\n== ${text}`);

  let local: LocalKafka | undefined;
  // The broker JVM runs in its own process group, so Ctrl-C does not reach it: stop it here,
  // whatever step the demo is at, rather than leave a JVM behind.
  const interrupted = () => {
    io.err('\ninterrupted: stopping the local broker');
    void (local?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  if (!keep) {
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
  }
  let brokers = io.env.KAFKA_BROKERS;
  if (!brokers) {
    step('starting a local Kafka broker (first run downloads the jars with Maven)');
    local = await startLocalKafka({ log: (m) => io.out(`   ${m}`) });
    brokers = local.brokers;
  } else {
    step(`using the Kafka broker at ${brokers}`);
  }

  const logFile = join(outDir, 'service.log');
  const config = loadConfig({
    env: {
      ...io.env,
      KAFKA_BROKERS: brokers,
      KAFKA_GROUP_ID: `refund-notifier-demo-${runId}`,
      DATABASE_URL: `sqlite:${join(outDir, 'refund-notifier.db')}`,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: io.env.HTTP_PORT ?? '0',
      KAFKA_SESSION_TIMEOUT: '6s',
    },
  });
  const logStream = createWriteStream(logFile, { flags: 'a' });
  const service = createService(config, { logger: createLogger({ level: 'debug', destination: logStream }) });
  const kafka = new Kafka({ clientId: 'refund-notifier-demo', brokers: [brokers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const dlqConsumer = kafka.consumer({ groupId: `refund-notifier-demo-dlq-${runId}`, maxWaitTimeInMs: 250 });

  try {
    const t = config.topics;
    await createTopics(brokers, [t.initiated, t.completed, t.failed, t.stalled, t.deadLetter].map((topic) => ({ topic })));

    step('starting the service');
    const { httpUrl } = await service.start();
    io.out(`   health ${httpUrl}/healthz · metrics ${httpUrl}/metrics · logs ${logFile}`);

    const deadLettered: Array<{ key: string; reason: string; offset: string }> = [];
    const joined = new Promise<void>((res) => dlqConsumer.on(dlqConsumer.events.GROUP_JOIN, () => res()));
    await dlqConsumer.connect();
    await dlqConsumer.subscribe({ topic: t.deadLetter, fromBeginning: false });
    await dlqConsumer.run({
      eachMessage: async ({ message }) => {
        deadLettered.push({
          key: message.key?.toString() ?? '',
          reason: message.headers?.['x-dlq-reason']?.toString() ?? '',
          offset: message.headers?.['x-dlq-source-offset']?.toString() ?? '',
        });
      },
    });
    await joined;

    const samples = sampleEvents(runId);
    step(`producing ${samples.length} refund-initiated records to ${t.initiated}`);
    await producer.connect();
    for (const [i, s] of samples.entries()) {
      await producer.send({ topic: t.initiated, messages: [s.message], acks: -1 });
      io.out(`   #${i} ${s.label.padEnd(48)} expect: ${s.expect}`);
    }

    const wantTracked = samples.filter((s) => s.expect === 'tracked').length;
    const wantDead = samples.filter((s) => s.expect === 'dead-letter').length;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const counts = await service.store.countByStatus();
      if (counts.pending >= wantTracked && deadLettered.length >= wantDead) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    step('tracked refunds (in the store, due for their first Antom inquiry)');
    for (const r of await service.store.listRefunds({ limit: 50 })) {
      const amount = r.refundAmount ? `${r.refundAmount.value} ${r.refundAmount.currency} (minor units)` : '-';
      const due = r.nextPollAt ? new Date(r.nextPollAt).toISOString() : '-';
      io.out(`   ${r.id.padEnd(22)} ${r.status.padEnd(8)} ${amount.padEnd(28)} first inquiry ${due}`);
    }
    const s = service.ingest.stats;
    io.out(`   ingest: ${s.records} records read, ${s.tracked} tracked, ${s.duplicates} duplicate, ${s.deadLettered} dead-lettered`);

    step(`dead-lettered records (${t.deadLetter}), unchanged, with the reason and origin`);
    for (const d of deadLettered) io.out(`   offset ${d.offset.padEnd(4)} ${d.key.padEnd(22)} ${d.reason}`);

    if (keep) {
      step('running; produce more records to the topic, or press Ctrl-C to stop');
      await new Promise<void>((res) => {
        process.once('SIGINT', () => res());
        process.once('SIGTERM', () => res());
      });
    }
    return 0;
  } finally {
    step('stopping');
    await producer.disconnect().catch(() => undefined);
    await dlqConsumer.disconnect().catch(() => undefined);
    await service.stop();
    logStream.end();
    await local?.stop();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    io.out('   done');
  }
}
