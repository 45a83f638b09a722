import Database from 'better-sqlite3';
import type { ParsedMail } from 'mailparser';
import { afterAll, describe, expect, it } from 'vitest';
import type { AntomSandbox } from '../../src/simulator/sandbox.js';
import { until } from '../support/kafka.js';
import { spawnService, type ServiceProcess } from '../support/process.js';
import { configFrom, createServiceTopics, isolatedEnv, produce, refundRecord, testSandbox } from '../support/service.js';
import { startSlackStub, type SlackStub } from '../support/slack-stub.js';
import { startSmtpCapture, type SmtpCapture } from '../support/smtp.js';
import { testRandom } from '../support/seed.js';

const TOTAL = 400;

describe('no customer is emailed twice', () => {
  const running: ServiceProcess[] = [];
  let sandbox: AntomSandbox | undefined;
  let smtp: SmtpCapture | undefined;
  let slack: SlackStub | undefined;

  afterAll(async () => {
    for (const p of running) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }
    await Promise.all([sandbox?.close(), smtp?.close(), slack?.close()]);
  });

  it('across SIGKILLs at random points while refunds complete and emails go out', async () => {
    sandbox = await testSandbox();
    smtp = await startSmtpCapture();
    slack = await startSlackStub();
    const env = isolatedEnv('emailcrash', {
      ...sandbox.serviceEnv('v2'),
      POLL_FIRST_DELAY: '100ms',
      POLL_MAX_INTERVAL: '2s',
      ANTOM_RATE_LIMIT: '300',
      SMTP_URL: smtp.url,
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_API_URL: slack.url,
      LOG_LEVEL: 'warn',
    });
    const config = configFrom(env);
    await createServiceTopics(config, 3);
    // Half final at once, half after a pending inquiry, some also pushed by notifyRefund (the
    // push/poll race): every way a refund can complete, racing the kills.
    sandbox.createRefunds(
      Array.from({ length: TOTAL }, (_, i) => ({
        refundId: `RF-${String(i).padStart(7, '0')}`,
        refundRequestId: `RQ-${i}`,
        paymentId: `PAY-${i}`,
        notify: false,
        ...(i % 2 === 1 ? { pendingInquiries: 1 } : {}),
      })),
    );
    await produce(env.KAFKA_BROKERS!, config.values.TOPIC_REFUND_INITIATED, Array.from({ length: TOTAL }, (_, i) => refundRecord(i)));

    const customers = () => smtp!.messages.map((m: ParsedMail) => (Array.isArray(m.to) ? m.to[0] : m.to)?.value[0]?.address ?? '?');
    const { random } = testRandom('email-crash');
    for (const fraction of [0.2, 0.45, 0.7].map((f) => f + (random() - 0.5) * 0.1)) {
      const p = spawnService(['start'], env);
      running.push(p);
      const threshold = Math.floor(TOTAL * fraction);
      await until(() => smtp!.messages.length >= threshold, { timeoutMs: 60_000, intervalMs: 5, message: `${threshold} emails before the kill\n${p.output().slice(-2000)}` });
      p.child.kill('SIGKILL');
      await p.exited;
    }
    const last = spawnService(['start'], env);
    running.push(last);

    const dbPath = config.database.kind === 'sqlite' ? config.database.path : '';
    const customerDeliveries = () => {
      const db = new Database(dbPath, { readonly: true });
      try {
        return db.prepare("select status, last_error from outbox where kind = 'delivery' and channel = 'customer'").all() as Array<{ status: string; last_error: string | null }>;
      } finally {
        db.close();
      }
    };
    // Done when every customer delivery is settled: sent, or given up as in doubt.
    await until(
      () => {
        const rows = customerDeliveries();
        return rows.length === TOTAL && rows.every((r) => r.status !== 'pending');
      },
      { timeoutMs: 150_000, intervalMs: 200, message: `all ${TOTAL} customer emails settled\n${last.output().slice(-2000)}` },
    );
    last.child.kill('SIGTERM');
    await last.exited;

    const sent = customers();
    // The promise: nobody twice.
    const twice = sent.filter((address, i) => sent.indexOf(address) !== i);
    expect(twice).toEqual([]);
    // Every customer either got their email, or the delivery is in /admin/outbox as "in doubt"
    // (the process died during that very send), never silently lost.
    const rows = customerDeliveries();
    const inDoubt = rows.filter((r) => r.status === 'dead');
    for (const r of inDoubt) expect(r.last_error).toMatch(/never reported back; not resent/);
    expect(sent.length + inDoubt.length).toBeGreaterThanOrEqual(TOTAL);
    expect(sent.length).toBeLessThanOrEqual(TOTAL);
    // Kills land mid-send rarely: at most one in-flight batch per kill.
    expect(inDoubt.length).toBeLessThanOrEqual(3 * 10);
  }, 300_000);
});
