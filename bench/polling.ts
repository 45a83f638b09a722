/**
 * bench/polling: 20,000 tracked refunds that the Antom sandbox reports final; with
 * ANTOM_RATE_LIMIT=500 the floor is 20,000 / 500 = 40 s. Measures the time from the service's
 * start until every outcome event is acknowledged by Kafka, the ratio to the floor, and the
 * service process's peak memory.
 *
 *   npx tsx bench/polling.ts [--refunds 20000] [--rate 500] [--concurrency 32]
 *
 * Real parts: a local Kafka broker (or KAFKA_BROKERS), the sandbox in a child process (it signs
 * every answer, so it needs its own core), SQLite on disk. Prints figures; asserts nothing.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { generateAntomKeyPair } from '../src/adapters/antom/keys.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { loadConfig } from '../src/config/load.js';
import { createTopics } from '../src/devtools/local-kafka.js';
import { createService } from '../src/main.js';
import { allTopics } from '../src/composition/settings.js';
import { startAntomSandbox } from '../src/simulator/sandbox.js';
import { benchKafka, exited, nextMessage } from './support.js';

const { values: args } = parseArgs({
  options: {
    refunds: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '32' },
    serve: { type: 'boolean', default: false },
  },
});
const REFUNDS = Number(args.refunds);
const RATE = Number(args.rate);
const REPO = join(import.meta.dirname, '..');

if (args.serve) await serve();
else await main();

/** Child mode: the sandbox. */
async function serve(): Promise<void> {
  const sandbox = await startAntomSandbox({ merchantPublicKey: process.env.BENCH_MERCHANT_PUBLIC_KEY!, seed: 1, notifyRetries: 'none' });
  process.on('message', () => void sandbox.close().then(() => process.exit(0)));
  process.send?.({ url: sandbox.url, publicKey: sandbox.publicKey, env: sandbox.serviceEnv('v2') });
}


async function main(): Promise<void> {
  const kafka = await benchKafka();
  const brokers = kafka.brokers;
  const merchant = generateAntomKeyPair();
  const child = fork(import.meta.filename, ['--serve'], { env: { ...process.env, BENCH_MERCHANT_PUBLIC_KEY: merchant.publicKey } });
  const sandbox = await nextMessage<{ url: string; env: Record<string, string> }>(child);
  const dir = mkdtempSync(join(tmpdir(), 'bench-polling-'));
  try {
    const run = `bench-polling-${Date.now()}`;
    // Every refund final at once; one in ten a failure with a reason code.
    const scenarios = Array.from({ length: REFUNDS }, (_, i) => ({
      refundId: `BP-${String(i).padStart(7, '0')}`,
      refundRequestId: `BPQ-${i}`,
      paymentId: `BPP-${i}`,
      notify: false,
      ...(i % 10 === 0 ? { final: 'FAIL', failCode: 'RISK_REJECT', failureReporting: 'result-code' } : {}),
    }));
    for (let i = 0; i < scenarios.length; i += 5000) {
      const res = await fetch(`${sandbox.url}/sandbox/refunds`, { method: 'POST', body: JSON.stringify(scenarios.slice(i, i + 5000)) });
      if (!res.ok) throw new Error(`sandbox refused the refunds: ${res.status} ${await res.text()}`);
    }

    const config = loadConfig({
      cwd: REPO,
      env: {
        CONFIG_DIR: join(REPO, 'config'),
        ...sandbox.env,
        ANTOM_PRIVATE_KEY: merchant.privateKey,
        ANTOM_RATE_LIMIT: String(RATE),
        ANTOM_CONCURRENCY: args.concurrency!,
        KAFKA_BROKERS: brokers,
        KAFKA_GROUP_ID: `${run}-group`,
        KAFKA_CREATE_TOPICS: 'false',
        TOPIC_REFUND_INITIATED: `${run}.initiated`,
        TOPIC_REFUND_COMPLETED: `${run}.completed`,
        TOPIC_REFUND_FAILED: `${run}.failed`,
        TOPIC_REFUND_STALLED: `${run}.stalled`,
        TOPIC_DEAD_LETTER: `${run}.dlq`,
        DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`,
        POLL_FIRST_DELAY: '0s',
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        ADMIN_PORT: '0',
        LOG_LEVEL: 'warn',
      },
    });
    await createTopics(brokers, allTopics(config.values).map((topic) => ({ topic, numPartitions: 3 })));
    // The refunds are tracked first (the ingest is measured by bench/ingest), so this measures
    // polling alone: every refund is due when the poll loop starts.
    const kafka = new Kafka({ clientId: 'bench-polling', brokers: [brokers], logLevel: logLevel.ERROR });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < REFUNDS; i += 1000) {
      await producer.send({
        topic: config.values.TOPIC_REFUND_INITIATED,
        acks: -1,
        messages: scenarios.slice(i, i + 1000).map((s) => ({
          key: s.refundId,
          value: JSON.stringify({ refundId: s.refundId, refundRequestId: s.refundRequestId, paymentId: s.paymentId, refundAmount: { currency: 'USD', value: '1000' } }),
        })),
      });
    }
    await producer.disconnect();

    const quiet = new Writable({ write: (_c, _e, cb) => cb() });
    const service = createService(config, { logger: createLogger({ level: 'warn', destination: quiet }) });
    let peakRss = 0;
    let peakHeap = 0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    }, 100);
    const cpuStart = process.cpuUsage();
    const started = performance.now();
    await service.start();
    let trackedAt = 0;
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (!trackedAt && service.ingest.stats.tracked >= REFUNDS) trackedAt = performance.now();
        if (service.dispatcher.stats.published >= REFUNDS) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    clearInterval(sampler);
    const counts = await service.store.countByStatus();
    const poll = { ...service.poller.stats };
    await service.stop();

    const floor = REFUNDS / RATE;
    const rows: Array<[string, string]> = [
      ['refunds (final at Antom; 10 % failed)', REFUNDS.toLocaleString('en')],
      ['ANTOM_RATE_LIMIT / ANTOM_CONCURRENCY', `${RATE}/s / ${args.concurrency}`],
      ['all tracked after', `${((trackedAt - started) / 1000).toFixed(1)} s`],
      ['every outcome event acknowledged after', `${seconds.toFixed(1)} s`],
      ['floor (refunds / rate)', `${floor.toFixed(1)} s`],
      ['ratio to the floor', `${(seconds / floor).toFixed(3)} (target ≤ 1.25)`],
      ['inquiries made', `${poll.inquiries} (${(poll.inquiries / seconds).toFixed(0)}/s)`],
      ['store after', `${counts.completed} completed, ${counts.failed} failed, ${counts.pending} pending`],
      ['peak RSS / heap of the service process', `${(peakRss / 1_048_576).toFixed(0)} MB / ${(peakHeap / 1_048_576).toFixed(0)} MB`],
      ['service CPU (user+system)', `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (${(((cpu.user + cpu.system) / 1e6 / seconds) * 100).toFixed(0)} % of a core)`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  } finally {
    child.send('stop');
    await exited(child);
    rmSync(dir, { recursive: true, force: true });
    await kafka.stop();
  }
}
