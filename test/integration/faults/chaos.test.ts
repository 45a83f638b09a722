import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, Partitioners, logLevel, type Message, type Producer } from 'kafkajs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalKafka, type LocalKafka } from '../../../src/devtools/local-kafka.js';
import { createScratchDatabase } from '../../../src/devtools/scratch-postgres.js';
import type { AntomSandbox } from '../../../src/simulator/sandbox.js';
import type { Scenario } from '../../../src/simulator/scenario.js';
import { collectMessages, until, type CollectedMessage } from '../../support/kafka.js';
import { spawnService, type ServiceProcess } from '../../support/process.js';
import { configFrom, createServiceTopics, isolatedEnv, refundRecord, testSandbox } from '../../support/service.js';
import { startSlackStub, type SlackStub } from '../../support/slack-stub.js';
import { startSmtpCapture, type SmtpCapture } from '../../support/smtp.js';
import { testRandom } from '../../support/seed.js';

/**
 * The fault suite, several instances on one PostgreSQL database with faults together
 * (docs/reliability.md): three service processes share a database, a consumer group and a Kafka
 * broker of their own, while refunds arrive in chunks and, one after another with records in
 * flight, an instance is SIGKILLed and started again, Antom answers 500 to everything for 10 s,
 * the broker is SIGKILLed and restarted, and Slack answers 429 and 503 in bursts. Afterwards,
 * as an operator would check it, from PostgreSQL and from the topics read from the beginning:
 * no refund lost or left pending, no outcome invented, conflicting or missing, no customer
 * emailed twice, nothing dead-lettered, no instance died on its own; and the survivors still
 * stop cleanly when asked.
 *
 * CHAOS_LOG_DIR=<dir> keeps every instance's whole log (and the broker's messages) for a
 * post-mortem; TEST_LOG_LEVEL=info makes those logs say more.
 */

const TOTAL = 900;
const CHUNKS = 6;
const CHUNK = TOTAL / CHUNKS;
// After kill() the restarted controller keeps the dead broker's registration this long; Kafka's
// 9 s default would add 6 s to the restart (docs/kafka.md, "Crash and restart").
const BROKER_SESSION_TIMEOUT_MS = 3_000;
// Long enough for every instance's consumer, producer and outbox sends to meet the dead broker
// (kafkajs retries from 300 ms), short enough that the service's ~1 min of client retries is
// not used up: the point is a crash the service rides out, not one it gives up on.
const BROKER_DOWN_MS = 3_000;
// "Antom answering 500 to everything for a while": longer than POLL_MAX_INTERVAL (2 s), so every
// refund in flight meets the outage several times and backs off.
const ANTOM_OUTAGE_MS = 10_000;
// A SIGKILLed instance's claims wait out their leases (poll: 2 × ANTOM_TIMEOUT + 30 s = 36 s;
// outbox: 60 s) before another instance takes them; measured runs settle ~55–65 s after the
// first record, so this leaves room for a loaded CI box.
const SETTLE_TIMEOUT_MS = 120_000;
// SHUTDOWN_TIMEOUT of the instances: a drain with nothing left to do takes 1–2 s.
const SHUTDOWN_TIMEOUT_MS = 10_000;

type Outcome = 'refund.completed' | 'refund.failed';

/** Most succeed at once or after 1–3 pending inquiries; one in ten fails with an escalated code. */
function plan(i: number): { scenario: Scenario; outcome: Outcome } {
  if (i % 10 === 7) {
    return { scenario: { final: 'FAIL', failCode: 'RISK_REJECT', failureReporting: 'result-code', pendingInquiries: i % 3 }, outcome: 'refund.failed' };
  }
  return { scenario: { pendingInquiries: i % 4 }, outcome: 'refund.completed' };
}
const refundId = (i: number) => `RF-${String(i).padStart(7, '0')}`;

// SIGKILL mid-send: the next claimant finds the sending mark (notify.ts) or the mailer lost the
// connection with the message out (mailer.ts). Either way: dead, reported, never resent.
const IN_DOUBT = /never reported back; not resent|it may or may not have been accepted, so it is not resent/;

interface Instance {
  readonly name: string;
  readonly proc: ServiceProcess;
  killedByUs: boolean;
}

describe('fault suite: several instances on one PostgreSQL database, with faults', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  const instances: Instance[] = [];
  const figures: Record<string, unknown> = { refunds: TOTAL };
  let started = Date.now();
  const mark = (name: string) => (figures[name] = `${((Date.now() - started) / 1000).toFixed(1)} s`);
  const printFigures = () => console.log(`[chaos] figures\n${Object.entries(figures).map(([k, v]) => `  ${k}: ${String(v)}`).join('\n')}`);
  let settled = false;

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.warn('[chaos] cleanup failed', err));
  });

  it('loses no refund, invents or doubles no outcome, emails no customer twice through an instance crash, a broker crash, an Antom outage and Slack bursts', async () => {
    started = Date.now();
    // --- the world: a broker, a database, Antom, Slack and SMTP of this test's own ---
    const brokerLog: string[] = [];
    const broker: LocalKafka = await startLocalKafka({ brokerSessionTimeoutMs: BROKER_SESSION_TIMEOUT_MS, log: (m) => brokerLog.push(m) });
    cleanups.push(() => broker.stop());
    const brokers = broker.brokers;
    mark('broker up');

    const database = await createScratchDatabase(`rn_chaos_${process.pid}_${Date.now().toString(36)}`);
    cleanups.push(() => database.drop());
    const db = new pg.Pool({ connectionString: database.url, max: 2 });
    cleanups.push(() => db.end());

    const sandbox: AntomSandbox = await testSandbox();
    cleanups.push(() => sandbox.close());
    const slack: SlackStub = await startSlackStub();
    cleanups.push(() => slack.close());
    const smtp: SmtpCapture = await startSmtpCapture();
    cleanups.push(() => smtp.close());

    const env = isolatedEnv('chaos', {
      ...sandbox.serviceEnv('v2'),
      KAFKA_BROKERS: brokers,
      DATABASE_URL: database.url,
      KAFKA_SESSION_TIMEOUT: '6s',
      POLL_FIRST_DELAY: '100ms',
      POLL_MAX_INTERVAL: '2s',
      // 900 refunds over ~40 s, each inquired 1–4 times plus the outage's retries: well below
      // 3 × 150/s, so the limiter never is the bottleneck.
      ANTOM_RATE_LIMIT: '150',
      ANTOM_CONCURRENCY: '16',
      ANTOM_TIMEOUT: '3s',
      SLACK_BOT_TOKEN: 'xoxb-chaos',
      SLACK_API_URL: slack.url,
      SMTP_URL: smtp.url,
      CUSTOMER_EMAILS: 'true',
      SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_MS}ms`,
      // warn: failures are diagnosable from the output; TEST_LOG_LEVEL=info for a post-mortem.
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    });
    const config = configFrom(env);
    await createServiceTopics(config, 3);

    const plans = Array.from({ length: TOTAL }, (_, i) => plan(i));
    sandbox.createRefunds(plans.map((p, i) => ({ refundId: refundId(i), refundRequestId: `RQ-${i}`, paymentId: `PAY-${i}`, notify: false, ...p.scenario })));

    const producer = await retryingProducer(brokers);
    cleanups.push(() => producer.disconnect());
    const chunk = (c: number): Message[] => Array.from({ length: CHUNK }, (_, k) => refundRecord(c * CHUNK + k));
    const send = (messages: Message[]) => producer.send({ topic: config.values.TOPIC_REFUND_INITIATED, messages, acks: -1 });

    // --- three instances, and a watch on them ---
    const logDir = process.env.CHAOS_LOG_DIR;
    if (logDir) {
      cleanups.push(async () => {
        mkdirSync(logDir, { recursive: true });
        for (const i of instances) writeFileSync(join(logDir, `${i.name}.log`), i.proc.output());
        writeFileSync(join(logDir, 'local-kafka.log'), brokerLog.join('\n'));
      });
    }
    cleanups.push(async () => {
      for (const i of instances) {
        if (i.proc.child.exitCode === null && i.proc.child.signalCode === null) i.proc.child.kill('SIGKILL');
        await i.proc.exited;
      }
    });
    const spawn = (name: string) => {
      const instance: Instance = { name, proc: spawnService(['start'], env), killedByUs: false };
      instances.push(instance);
      return instance;
    };
    const diedOnTheirOwn = () => instances.filter((i) => !i.killedByUs && (i.proc.child.exitCode !== null || i.proc.child.signalCode !== null));
    const tails = () => instances.map((i) => `--- ${i.name} (pid ${i.proc.child.pid}) ---\n${i.proc.output().slice(-3000)}`).join('\n');
    const counts = async () => {
      const { rows } = await db.query<{ total: string; final: string }>(
        "select count(*) as total, count(*) filter (where status in ('completed', 'failed')) as final from refunds",
      );
      return { total: Number(rows[0]!.total), final: Number(rows[0]!.final) };
    };
    /** Waits for `predicate`, but fails at once, with every instance's log, if one died on its own. */
    const waitFor = async (what: string, predicate: () => Promise<boolean>, timeoutMs = 60_000) => {
      await until(async () => diedOnTheirOwn().length > 0 || (await predicate()), {
        timeoutMs,
        intervalMs: 200,
        message: `${what} (refunds ${JSON.stringify(await counts().catch(() => 'unreadable'))})\n${tails()}`,
      });
      if (diedOnTheirOwn().length > 0) {
        throw new Error(`${diedOnTheirOwn().map((i) => i.name).join(', ')} exited on its own while waiting for ${what}\n${tails()}`);
      }
    };
    const finalAtLeast = (n: number) => async () => (await counts()).final >= n;

    for (const name of ['a', 'b', 'c']) spawn(name);
    const firstRecord = Date.now();
    await send(chunk(0));
    await waitFor('the first refunds final', finalAtLeast(CHUNK / 2));
    mark('first outcomes');

    // --- Slack: a burst of 429s with Retry-After, while the second chunk arrives ---
    slack.failNext(40, { status: 429, retryAfterSec: 1 });
    await send(chunk(1));

    // --- an instance SIGKILLed mid-run (inquiries, transactions, sends in flight), started again ---
    const { random } = testRandom('chaos');
    const killAt = CHUNK + Math.floor(random() * (CHUNK / 2));
    await waitFor(`${killAt} refunds final before the instance kill`, finalAtLeast(killAt));
    const victim = instances[Math.floor(random() * 3)]!;
    victim.killedByUs = true;
    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited;
    figures['instance killed'] = `${victim.name} at ${killAt} final, ${mark('instance kill')}`;
    spawn(`${victim.name}2`);
    await send(chunk(2));

    // --- Antom answering 500 to everything for 10 s, with a chunk arriving and a 503 burst in Slack ---
    await waitFor('refunds final before the Antom outage', finalAtLeast(2 * CHUNK + CHUNK / 3));
    const answersBefore = sandbox.stats().answers['http-error'] ?? 0;
    sandbox.setOutage({ kind: 'http-error', httpStatus: 500 });
    const outageFrom = Date.now();
    mark('Antom outage on');
    await send(chunk(3));
    slack.failNext(30, { status: 503 });
    await until(() => Date.now() - outageFrom >= ANTOM_OUTAGE_MS, { timeoutMs: ANTOM_OUTAGE_MS + 5_000, intervalMs: 100 });
    sandbox.setOutage(undefined);
    figures['Antom 500s answered'] = (sandbox.stats().answers['http-error'] ?? 0) - answersBefore;
    mark('Antom outage off');

    // --- the broker SIGKILLed with refunds in flight and a chunk being produced, restarted ---
    await waitFor('refunds final before the broker kill', finalAtLeast(3 * CHUNK));
    await broker.kill();
    const brokerDownFrom = Date.now();
    mark('broker kill');
    // Sent while the broker is down: the producer retries until it is back (acknowledged then).
    const producing = send(chunk(4));
    await until(() => Date.now() - brokerDownFrom >= BROKER_DOWN_MS, { timeoutMs: BROKER_DOWN_MS + 5_000, intervalMs: 100 });
    await broker.restart();
    figures['broker down'] = `${((Date.now() - brokerDownFrom) / 1000).toFixed(1)} s`;
    await producing;
    mark('broker back');

    // --- the last chunk, with one more 429 burst ---
    slack.failNext(20, { status: 429, retryAfterSec: 1 });
    await send(chunk(5));
    mark('all produced');

    // --- settled: every refund final and every outbox entry sent or given up ---
    const pendingOutbox = async () => {
      const { rows } = await db.query<{ n: string }>("select count(*) as n from outbox where status = 'pending'");
      return Number(rows[0]!.n);
    };
    await waitFor(
      `all ${TOTAL} refunds final and the outbox drained`,
      async () => (await counts()).final === TOTAL && (await pendingOutbox()) === 0,
      SETTLE_TIMEOUT_MS,
    );
    figures['first record to settled'] = `${((Date.now() - firstRecord) / 1000).toFixed(1)} s`;
    mark('settled');

    // --- gather what an operator would look at: PostgreSQL, the topics from the beginning, the mail server ---
    const { rows: refunds } = await db.query<{ key: string; status: string }>('select key, status from refunds');
    const readAll = async (topic: string) => {
      const expected = await topicSize(brokers, topic);
      if (expected === 0) return [];
      const collector = await collectMessages(brokers, topic);
      try {
        await until(() => collector.messages.length >= expected, { timeoutMs: 30_000, message: `all ${expected} records of ${topic}` });
        return collector.messages;
      } finally {
        await collector.stop();
      }
    };
    const completed = await readAll(config.values.TOPIC_REFUND_COMPLETED);
    const failed = await readAll(config.values.TOPIC_REFUND_FAILED);
    const stalled = await readAll(config.values.TOPIC_REFUND_STALLED);
    const deadLettered = await topicSize(brokers, config.values.TOPIC_DEAD_LETTER);
    // The outbox's own word on each event: what a missing event was marked as.
    const { rows: eventRows } = await db.query<{ refund_key: string; status: string; attempts: number; last_error: string | null; sent_at: string | null }>(
      "select refund_key, status, attempts, last_error, sent_at from outbox where kind = 'event'",
    );
    const { rows: customerRows } = await db.query<{ refund_key: string; status: string; last_error: string | null }>(
      "select refund_key, status, last_error from outbox where kind = 'delivery' and channel = 'customer'",
    );
    const { rows: deadOps } = await db.query<{ channel: string; last_error: string | null }>(
      "select channel, last_error from outbox where status = 'dead' and not (kind = 'delivery' and channel = 'customer')",
    );
    mark('read back');

    // Refunds: tracked once each (the key is the primary key), with the sandbox's decision.
    const byKey = new Map(refunds.map((r) => [r.key, r]));
    const wantStatus = (i: number) => (plans[i]!.outcome === 'refund.completed' ? 'completed' : 'failed');
    const wrongStatus = plans.map((_, i) => refundId(i)).filter((key, i) => byKey.get(key)?.status !== wantStatus(i));

    // Events: one outcome per refund, every copy with the same id and type.
    const events = new Map<string, Array<{ id: string; type: string; reason?: string }>>();
    for (const m of [...completed, ...failed, ...stalled] as CollectedMessage[]) {
      const event = JSON.parse(m.value!) as { id: string; type: string; data: { reasonCode?: string } };
      const list = events.get(m.key!) ?? [];
      list.push({ id: event.id, type: event.type, ...(event.data.reasonCode ? { reason: event.data.reasonCode } : {}) });
      events.set(m.key!, list);
    }
    const eventRow = new Map(eventRows.map((r) => [r.refund_key, r]));
    const missing: string[] = [];
    const conflicting: string[] = [];
    let duplicates = 0;
    plans.forEach((p, i) => {
      const key = refundId(i);
      const list = events.get(key) ?? [];
      if (list.length === 0) {
        const row = eventRow.get(key);
        missing.push(`${key}: no ${p.outcome} on the topic; the outbox says ${row ? `${row.status} after ${row.attempts} attempt(s), sent_at ${row.sent_at}, last_error ${row.last_error}` : 'nothing'}`);
        return;
      }
      const wrong = list.filter((e) => e.id !== `${key}:${p.outcome}` || e.type !== p.outcome || (p.outcome === 'refund.failed' && e.reason !== 'RISK_REJECT'));
      if (wrong.length > 0) conflicting.push(`${key}: ${JSON.stringify(list)}`);
      duplicates += list.length - 1;
    });
    const invented = [...events.keys()].filter((key) => !byKey.has(key));

    // Customers: one email each, never two; none at all only where a kill left the send in doubt.
    const inDoubt = new Set(customerRows.filter((r) => r.status === 'dead' && IN_DOUBT.test(r.last_error ?? '')).map((r) => r.refund_key));
    const deadOtherwise = customerRows.filter((r) => r.status === 'dead' && !inDoubt.has(r.refund_key));
    const emails = new Map<string, number>();
    for (const e of smtp.envelopes) for (const to of e.to) emails.set(to, (emails.get(to) ?? 0) + 1);
    const twice = [...emails.entries()].filter(([, n]) => n > 1).map(([to, n]) => `${to}: ${n}`);
    const wrongEmails: string[] = [];
    plans.forEach((p, i) => {
      const n = emails.get(`customer${i}@example.com`) ?? 0;
      if (p.outcome === 'refund.failed' && n !== 0) wrongEmails.push(`${refundId(i)} failed but its customer got ${n} email(s)`);
      if (p.outcome === 'refund.completed' && n === 0 && !inDoubt.has(refundId(i))) wrongEmails.push(`${refundId(i)} completed and its customer got no email, and it is not in doubt`);
    });

    figures['events on the topics'] = completed.length + failed.length + stalled.length;
    figures['duplicate events'] = duplicates;
    figures['customer emails'] = smtp.envelopes.length;
    figures['emails in doubt'] = inDoubt.size;
    figures['Slack calls refused'] = slack.calls.filter((c) => !c.ok).length;
    figures['Slack messages'] = slack.messages().length;
    figures['instances'] = instances.map((i) => `${i.name}${i.killedByUs ? ' (SIGKILLed)' : ''}`).join(', ');
    figures['test time'] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
    printFigures();

    expect(refunds.length).toBe(TOTAL);
    expect(wrongStatus.map((k) => `${k}: ${byKey.get(k)?.status ?? 'not tracked'}`)).toEqual([]);
    expect(missing).toEqual([]);
    expect(conflicting).toEqual([]);
    expect(invented).toEqual([]);
    expect(stalled).toEqual([]);
    expect(deadLettered).toBe(0);
    expect(twice).toEqual([]);
    expect(wrongEmails).toEqual([]);
    expect(deadOtherwise.map((r) => `${r.refund_key}: ${r.last_error}`)).toEqual([]);
    // One kill, so at most the dispatcher batch in flight at that moment.
    expect(inDoubt.size).toBeLessThanOrEqual(20);
    // The Slack bursts were ridden out: nothing given up for operations either.
    expect(deadOps.map((r) => `${r.channel}: ${r.last_error}`)).toEqual([]);

    // No instance exited on its own, and the survivors never logged a fatal line or an unhandled rejection.
    expect(diedOnTheirOwn().map((i) => i.name)).toEqual([]);
    for (const s of instances.filter((i) => !i.killedByUs)) {
      const bad = s.proc
        .output()
        .split('\n')
        .filter((line) => /unhandled/i.test(line) || /"level":60/.test(line) || /\bfatal\b/i.test(line));
      expect(bad, `${s.name}'s log`).toEqual([]);
    }
    settled = true;
  }, 180_000);

  // Found by this test: after the broker crash, kafkajs dropped the broker from its pool without
  // closing it but kept it as the group coordinator; the ingest's heartbeat reconnected it, and
  // consumer.disconnect() never closed that socket, so a stopped survivor stayed alive until
  // SHUTDOWN_TIMEOUT and exited 1. A consumer that crashed while disconnecting was also restarted
  // by kafkajs and rejoined the group after stop(). (docs/reliability.md)
  it('the survivors stop cleanly when asked, after riding out the faults', async () => {
    if (!settled) throw new Error('the fault run above did not finish: nothing to stop');
    const survivors = instances.filter((i) => !i.killedByUs);
    const stopFrom = Date.now();
    for (const s of survivors) s.proc.child.kill('SIGTERM');
    const exits = await Promise.all(survivors.map(async (s) => ({ name: s.name, ...(await s.proc.exited), ms: Date.now() - stopFrom })));
    figures['shutdown'] = exits.map((e) => `${e.name} exit ${e.code ?? e.signal} in ${e.ms} ms`).join(', ');
    console.log(`[chaos] shutdown: ${String(figures['shutdown'])}`);
    const unclean = exits.filter((e) => e.code !== 0);
    // What each one said about stopping and about Kafka, not the retry chatter before it.
    const said = (s: Instance) =>
      s.proc
        .output()
        .split('\n')
        .filter((line) => /shut|stop|crash|Restarting the consumer|joined consumer group|level":[56]0/.test(line) && !/"component":"(outbox|antom-client)"/.test(line))
        .slice(-12)
        .map((line) => line.replace(/"stack":"[^"]*",?/g, '').slice(0, 400))
        .join('\n');
    const logs = unclean.map((e) => `--- ${e.name} ---\n${said(survivors.find((s) => s.name === e.name)!)}`).join('\n');
    expect(unclean, `survivors that did not stop cleanly within SHUTDOWN_TIMEOUT\n${logs}`).toEqual([]);
    // Nobody rejoined the group once told to stop.
    for (const s of survivors) {
      const out = s.proc.output();
      const after = out.slice(out.lastIndexOf('"msg":"stopping'));
      expect(after, `${s.name} after it began to stop`).not.toMatch(/joined consumer group|Restarting the consumer/);
    }
  }, SHUTDOWN_TIMEOUT_MS + 20_000);
});


/**
 * A producer that rides out the broker crash: never gives up, also not on reconnecting (kafkajs
 * uses the client's retry for that), and so never hands a failed batch's sequence numbers to the
 * next one (docs/kafka.md, "kafkajs idempotent producers across a crash"). One send at a time.
 */
async function retryingProducer(brokers: string): Promise<Producer> {
  const kafka = new Kafka({
    clientId: 'chaos-producer',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return producer;
}

/** Records in a topic (sum of high watermarks less low): no compaction or transactions here. */
async function topicSize(brokers: string, topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'chaos-admin', brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}
