/**
 * bench/cluster: 1, 2 and 3 instances (separate processes, the compiled service) on one
 * PostgreSQL database sharing one Antom budget (docs/operations.md). For each size it measures:
 *
 * - budget: the cluster's inquiries per second against ANTOM_RATE_LIMIT, with far more refunds due
 *   than the budget allows (goal: at least 0.9 × the budget, never above 1.05 ×);
 * - push: the time from the sandbox's notifyRefund push to the outcome event on Kafka, for
 *   refunds that only a notification finalises (goal: p99 under 1 s);
 *
 * and prints each with the one-instance figures as the baseline.
 *
 *   npm run build && npx tsx bench/cluster.ts [--rate 150] [--window 15] [--pushes 300]
 *
 * Needs PostgreSQL (PG_URL, default postgres://postgres@127.0.0.1:5432/postgres); starts a local
 * Kafka broker unless KAFKA_BROKERS is set. Prints figures; asserts nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { generateAntomKeyPair } from '../src/adapters/antom/keys.js';
import { freePort } from '../src/devtools/free-port.js';
import { createTopics } from '../src/devtools/local-kafka.js';
import { createScratchDatabase } from '../src/devtools/scratch-postgres.js';
import { startAntomSandbox, type AntomSandbox } from '../src/simulator/sandbox.js';
import { benchKafka, sleep } from './support.js';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '150' },
    window: { type: 'string', default: '15' },
    pushes: { type: 'string', default: '300' },
    sizes: { type: 'string', default: '1,2,3' },
  },
});
const RATE = Number(args.rate);
const WINDOW_S = Number(args.window);
const PUSHES = Number(args.pushes);
const REPO = join(import.meta.dirname, '..');
// Far more due than the budget: every refund pending forever, re-asked every second at most.
const BUDGET_REFUNDS = RATE * 20;

interface Cluster {
  readonly urls: string[];
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  const kafka = await benchKafka();
  const brokers = kafka.brokers;
  const merchant = generateAntomKeyPair();
  const rows: string[][] = [];
  const baseline: { rate?: number; p99?: number } = {};
  try {
    for (const size of args.sizes!.split(',').map(Number)) {
      const budget = await measureBudget(brokers, merchant, size);
      const push = await measurePush(brokers, merchant, size);
      baseline.rate ??= budget.rate;
      baseline.p99 ??= push.p99;
      rows.push([
        String(size),
        `${budget.rate.toFixed(1)}/s`,
        `${(budget.rate / RATE).toFixed(3)} ×`,
        `${(budget.rate / baseline.rate).toFixed(2)}`,
        `${push.p50.toFixed(0)} ms`,
        `${push.p99.toFixed(0)} ms`,
        `${(push.p99 / baseline.p99).toFixed(2)}`,
        `${push.events}/${PUSHES}`,
      ]);
      console.log(`[cluster] ${size} instance(s): ${rows.at(-1)!.join(' | ')}`);
    }
  } finally {
    await kafka.stop();
  }
  const header = ['instances', 'inquiries/s', 'of the budget (goal 0.9–1.05)', 'vs 1 instance', 'push→event p50', 'p99 (goal < 1 s)', 'p99 vs 1 instance', 'events'];
  console.log(`\nANTOM_RATE_LIMIT ${RATE}/s for the cluster; budget window ${WINDOW_S} s; ${PUSHES} pushes per size`);
  console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

/** The cluster's inquiries/s over WINDOW_S, after a few seconds' warm-up. */
async function measureBudget(brokers: string, merchant: { privateKey: string; publicKey: string }, size: number): Promise<{ rate: number }> {
  const sandbox = await startAntomSandbox({ merchantPublicKey: merchant.publicKey, seed: size, notifyRetries: 'none' });
  const ids = Array.from({ length: BUDGET_REFUNDS }, (_, i) => `BC-${size}-${String(i).padStart(6, '0')}`);
  sandbox.createRefunds(ids.map((refundId, i) => ({ refundId, refundRequestId: `Q${refundId}`, paymentId: `P-${i}`, refundAmount: { currency: 'USD', value: '1000' }, final: 'PENDING' as const, notify: false })));
  const cluster = await startCluster(brokers, merchant, sandbox, size, `budget${size}`, ids, { POLL_FIRST_DELAY: '0s', POLL_MAX_INTERVAL: '1s' });
  try {
    await sleep(5_000);
    const before = sandbox.stats().inquiries;
    const from = performance.now();
    await sleep(WINDOW_S * 1000);
    return { rate: (sandbox.stats().inquiries - before) / ((performance.now() - from) / 1000) };
  } finally {
    await cluster.stop();
    await sandbox.close();
  }
}

/** Push to event: refunds pending at Antom until a time, never polled meanwhile, finalised by the push. */
async function measurePush(brokers: string, merchant: { privateKey: string; publicKey: string }, size: number) {
  const sandbox = await startAntomSandbox({ merchantPublicKey: merchant.publicKey, seed: 100 + size, notifyRetries: 'none' });
  const ids = Array.from({ length: PUSHES }, (_, i) => `NP-${size}-${String(i).padStart(6, '0')}`);
  const run = `bench-cluster-push${size}-${Date.now()}`;
  const cluster = await startCluster(brokers, merchant, sandbox, size, `push${size}`, ids, { POLL_FIRST_DELAY: '1h', POLL_MAX_INTERVAL: '2h' }, run);
  const kafka = new Kafka({ clientId: 'bench-cluster', brokers: [brokers], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${run}-reader` });
  const arrived = new Map<string, number>();
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: `${run}.completed`, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void arrived.set(message.key!.toString(), Date.now()) });
    // Each refund settles at Antom between 2 and 12 s from now, spread evenly, and is pushed to one
    // of the instances (round robin, as a load balancer would).
    sandbox.createRefunds(
      ids.map((refundId, i) => ({
        refundId,
        refundRequestId: `Q${refundId}`,
        paymentId: `P-${i}`,
        // The amount the record says: a notification for another amount is not taken as final.
        refundAmount: { currency: 'USD', value: '1000' },
        pendingMs: 2_000 + Math.floor((10_000 * i) / PUSHES),
        notifyUrl: `${cluster.urls[i % size]}/antom/notify/refund`,
      })),
    );
    const deadline = Date.now() + 40_000;
    while (arrived.size < PUSHES && Date.now() < deadline) await sleep(200);
    const latencies: number[] = [];
    for (const id of ids) {
      const pushed = sandbox.notifications({ refundId: id })[0];
      const at = arrived.get(id);
      if (pushed && at !== undefined) latencies.push(at - Date.parse(pushed.at));
    }
    latencies.sort((a, b) => a - b);
    // The pushes that reached no event, by what the service answered them.
    const unanswered = new Map<string, number>();
    for (const id of ids.filter((i) => !arrived.has(i))) {
      const attempt = sandbox.notifications({ refundId: id })[0];
      const why = attempt ? `HTTP ${attempt.httpStatus ?? '-'} ${attempt.problem ?? (attempt.acknowledged ? 'acknowledged' : '')}` : 'not pushed';
      unanswered.set(why, (unanswered.get(why) ?? 0) + 1);
    }
    if (unanswered.size > 0) {
      console.log(`[cluster] ${size} instance(s): pushes without an event: ${JSON.stringify(Object.fromEntries(unanswered))}; sandbox ${JSON.stringify(sandbox.stats().notifications)}`);
    }
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
    return { p50: pct(50), p99: pct(99), events: arrived.size };
  } finally {
    await consumer.disconnect();
    await cluster.stop();
    await sandbox.close();
  }
}

/** `size` service processes on a fresh database, the refunds produced and tracked. */
async function startCluster(
  brokers: string,
  merchant: { privateKey: string },
  sandbox: AntomSandbox,
  size: number,
  name: string,
  ids: string[],
  over: Record<string, string>,
  run = `bench-cluster-${name}-${Date.now()}`,
): Promise<Cluster> {
  const database = await createScratchDatabase(`rn_bench_${name}_${process.pid}`);
  const topics = ['initiated', 'completed', 'failed', 'stalled', 'dlq'].map((t) => `${run}.${t}`);
  await createTopics(brokers, topics.map((topic) => ({ topic, numPartitions: 3 })));
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const env = {
    ...sandbox.serviceEnv('v2'),
    ANTOM_PRIVATE_KEY: merchant.privateKey,
    ANTOM_RATE_LIMIT: String(RATE),
    ANTOM_CONCURRENCY: '16',
    KAFKA_BROKERS: brokers,
    KAFKA_GROUP_ID: `${run}-group`,
    TOPIC_REFUND_INITIATED: topics[0]!,
    TOPIC_REFUND_COMPLETED: topics[1]!,
    TOPIC_REFUND_FAILED: topics[2]!,
    TOPIC_REFUND_STALLED: topics[3]!,
    TOPIC_DEAD_LETTER: topics[4]!,
    DATABASE_URL: database.url,
    HTTP_HOST: '127.0.0.1',
    // The instances share this host: each takes any free admin port (the bench reads no metrics).
    ADMIN_PORT: '0',
    LOG_LEVEL: 'warn',
    DIGEST_CRON: '',
    ...over,
  };
  const children: ChildProcess[] = ports.map((port) =>
    spawn(process.execPath, [join(REPO, 'bin', 'refund-notifier.js'), 'start'], { cwd: REPO, env: { ...process.env, ...env, HTTP_PORT: String(port) }, stdio: 'ignore' }),
  );
  const kafka = new Kafka({ clientId: 'bench-cluster', brokers: [brokers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < ids.length; i += 1000) {
    await producer.send({
      topic: topics[0]!,
      acks: -1,
      messages: ids.slice(i, i + 1000).map((id) => ({ key: id, value: JSON.stringify({ refundId: id, refundRequestId: `Q${id}`, paymentId: `P-${id}`, refundAmount: { currency: 'USD', value: '1000' } }) })),
    });
  }
  await producer.disconnect();
  const db = new pg.Pool({ connectionString: database.url, max: 1 });
  try {
    for (;;) {
      const tracked = await db.query<{ n: string }>('select count(*) as n from refunds').catch(() => ({ rows: [{ n: '0' }] }));
      if (Number(tracked.rows[0]!.n) >= ids.length) break;
      await sleep(200);
    }
  } finally {
    await db.end();
  }
  return {
    urls: ports.map((p) => `http://127.0.0.1:${p}`),
    async stop() {
      await Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(null) : (c.once('exit', resolve), c.kill('SIGTERM'))))));
      await database.drop();
    },
  };
}




main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
