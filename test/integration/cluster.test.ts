import type { Message } from 'kafkajs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../../src/devtools/scratch-postgres.js';
import type { AntomSandbox } from '../../src/simulator/sandbox.js';
import { collectMessages, until } from '../support/kafka.js';
import { spawnService, type ServiceProcess } from '../support/process.js';
import { testRandom } from '../support/seed.js';
import { configFrom, createServiceTopics, isolatedEnv, produce, refundRecord, testSandbox } from '../support/service.js';
import { startSlackStub, type SlackStub } from '../support/slack-stub.js';

/**
 * Running as a cluster (docs/operations.md): three instances on one PostgreSQL database share the
 * work, one Antom budget and the scheduled jobs, while one of them is SIGKILLed mid-run and
 * started again. Afterwards: every refund has exactly its true outcome, no refund was inquired by
 * two instances at once (the sandbox records when each answer was due), the cluster as a whole
 * never inquired faster than ANTOM_RATE_LIMIT (+10 %), and the digest — due every 5 s on every
 * instance — was posted once.
 */

const TOTAL = 2000;
// The cluster's budget. Three instances with 16 inquiries in flight each against answers in
// 5–40 ms could ask thousands a second: the budget, not the instances, sets the pace.
const RATE = 150;
// Over any window this long, the cluster asks at most RATE a second plus what the bucket holds
// (a tenth of a second) and the slice each instance may still hold: +5 % at 5 s.
const WINDOW_MS = 5_000;
const refundId = (i: number) => `RF-${String(i).padStart(7, '0')}`;
type Outcome = 'refund.completed' | 'refund.failed';

/** One in ten fails (an escalated code), the rest succeed after 0–2 pending answers. */
function plan(i: number): { outcome: Outcome; pendingInquiries: number; fail: boolean } {
  return { outcome: i % 10 === 3 ? 'refund.failed' : 'refund.completed', pendingInquiries: i % 3, fail: i % 10 === 3 };
}

describe('a cluster of three instances on one PostgreSQL database', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.warn('[cluster] cleanup failed', err));
  });

  it('gives every refund its one true outcome, inquires none twice at once, keeps to one budget and posts one digest, through a SIGKILL', async () => {
    const started = Date.now();
    const database = await createScratchDatabase(`rn_cluster_${process.pid}_${Date.now().toString(36)}`);
    cleanups.push(() => database.drop());
    const db = new pg.Pool({ connectionString: database.url, max: 2 });
    cleanups.push(() => db.end());
    const sandbox: AntomSandbox = await testSandbox();
    cleanups.push(() => sandbox.close());
    const slack: SlackStub = await startSlackStub();
    cleanups.push(() => slack.close());

    const env = isolatedEnv('cluster', {
      ...sandbox.serviceEnv('v2'),
      DATABASE_URL: database.url,
      POLL_FIRST_DELAY: '100ms',
      POLL_MAX_INTERVAL: '1s',
      ANTOM_RATE_LIMIT: String(RATE),
      ANTOM_CONCURRENCY: '16',
      // A SIGKILLed instance's claims come back after 2 × ANTOM_TIMEOUT + 30 s.
      ANTOM_TIMEOUT: '2s',
      SLACK_BOT_TOKEN: 'xoxb-cluster',
      SLACK_API_URL: slack.url,
      // Due every 5 s on every instance: once a day is what the cluster must make of it.
      DIGEST_CRON: '*/5 * * * * *',
      DIGEST_TIMEZONE: 'Asia/Singapore',
    });
    const config = configFrom(env);
    await createServiceTopics(config, 3);
    sandbox.createRefunds(
      Array.from({ length: TOTAL }, (_, i) => ({
        refundId: refundId(i),
        refundRequestId: `RQ-${i}`,
        paymentId: `PAY-${i}`,
        notify: false,
        pendingInquiries: plan(i).pendingInquiries,
        latencyMs: [5, 40] as [number, number],
        ...(plan(i).fail ? { final: 'FAIL' as const, failCode: 'RISK_REJECT', failureReporting: 'result-code' as const } : {}),
      })),
    );

    const instances: Array<{ name: string; proc: ServiceProcess; killed: boolean }> = [];
    cleanups.push(async () => {
      for (const i of instances) {
        if (i.proc.child.exitCode === null && i.proc.child.signalCode === null) i.proc.child.kill('SIGKILL');
        await i.proc.exited;
      }
    });
    const spawn = (name: string) => instances.push({ name, proc: spawnService(['start'], env), killed: false });
    const final = async () => {
      const { rows } = await db.query<{ n: string }>("select count(*) as n from refunds where status in ('completed', 'failed')");
      return Number(rows[0]!.n);
    };
    const tails = () => instances.map((i) => `--- ${i.name} ---\n${i.proc.output().slice(-2000)}`).join('\n');
    for (const name of ['a', 'b', 'c']) spawn(name);
    const records: Message[] = Array.from({ length: TOTAL }, (_, i) => refundRecord(i));
    await produce(env.KAFKA_BROKERS!, config.values.TOPIC_REFUND_INITIATED, records);

    // One instance SIGKILLed with inquiries in flight, and started again.
    const { random } = testRandom('cluster');
    const killAt = 300 + Math.floor(random() * 400);
    await until(async () => (await final()) >= killAt, { timeoutMs: 90_000, intervalMs: 200, message: `${killAt} refunds final\n${tails()}` });
    const victim = instances[Math.floor(random() * 3)]!;
    victim.killed = true;
    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited;
    spawn(`${victim.name}2`);

    await until(async () => (await final()) === TOTAL, { timeoutMs: 180_000, intervalMs: 500, message: `all ${TOTAL} refunds final\n${tails()}` });
    const settledAfter = Date.now() - started;

    // Outcomes, read from the topics from the beginning.
    const readAll = async (topic: string, expected: number) => {
      const collector = await collectMessages(env.KAFKA_BROKERS!, topic);
      try {
        await until(() => collector.messages.length >= expected, { timeoutMs: 60_000, message: `${expected} records on ${topic}` });
        return collector.messages;
      } finally {
        await collector.stop();
      }
    };
    const failedCount = Array.from({ length: TOTAL }, (_, i) => plan(i)).filter((p) => p.fail).length;
    const events = [
      ...(await readAll(config.values.TOPIC_REFUND_COMPLETED, TOTAL - failedCount)),
      ...(await readAll(config.values.TOPIC_REFUND_FAILED, failedCount)),
    ];
    const outcomes = new Map<string, Set<string>>();
    for (const m of events) {
      const event = JSON.parse(m.value!) as { id: string; type: string };
      outcomes.set(m.key!, (outcomes.get(m.key!) ?? new Set()).add(`${event.id} ${event.type}`));
    }
    const wrong = Array.from({ length: TOTAL }, (_, i) => i)
      .filter((i) => {
        const seen = outcomes.get(refundId(i));
        return seen?.size !== 1 || !seen.has(`${refundId(i)}:${plan(i).outcome} ${plan(i).outcome}`);
      })
      .map((i) => `${refundId(i)}: ${JSON.stringify([...(outcomes.get(refundId(i)) ?? [])])}`);

    // Inquiries, as the sandbox saw them: each answered `answeredAfterMs` after it arrived; the
    // next inquiry of the same refund must come after that answer.
    const inquiries = Array.from({ length: TOTAL }, (_, i) => sandbox.seen(refundId(i)).inquiries.map((q) => ({ at: Date.parse(q.at), answeredAfterMs: q.answeredAfterMs })));
    const overlapping = inquiries.flatMap((list, i) =>
      list.slice(1).flatMap((q, k) => {
        const prev = list[k]!;
        return prev.answeredAfterMs === undefined || q.at >= prev.at + prev.answeredAfterMs - 1 ? [] : [`${refundId(i)}: inquiry ${k + 2} at +${q.at - prev.at} ms, before the answer to ${k + 1} (+${prev.answeredAfterMs} ms)`];
      }),
    );
    const times = inquiries.flat().map((q) => q.at).sort((a, b) => a - b);
    let busiest = 0;
    for (let lo = 0, hi = 0; hi < times.length; hi++) {
      while (times[hi]! - times[lo]! >= WINDOW_MS) lo++;
      busiest = Math.max(busiest, hi - lo + 1);
    }
    const overall = times.length / ((times.at(-1)! - times[0]!) / 1000);

    const digests = slack.messages().filter((m) => /^Refunds: \d+ pending/.test(m.text));
    console.log(
      `[cluster] ${TOTAL} refunds final after ${(settledAfter / 1000).toFixed(1)} s; ${victim.name} SIGKILLed at ${killAt} final; ` +
        `${times.length} inquiries, ${overall.toFixed(1)}/s overall, busiest ${WINDOW_MS / 1000} s: ${(busiest / (WINDOW_MS / 1000)).toFixed(1)}/s ` +
        `(budget ${RATE}/s); digests posted: ${digests.length}`,
    );

    expect(wrong).toEqual([]);
    expect(overlapping).toEqual([]);
    expect(busiest).toBeLessThanOrEqual(1.1 * RATE * (WINDOW_MS / 1000));
    expect(digests).toHaveLength(1);
    expect(instances.filter((i) => !i.killed && i.proc.child.exitCode !== null).map((i) => i.name)).toEqual([]);
  }, 360_000);
});
