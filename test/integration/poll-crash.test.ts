import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/devtools/free-port.js';
import type { AntomSandbox } from '../../src/simulator/sandbox.js';
import type { Scenario } from '../../src/simulator/scenario.js';
import { collectMessages, until, type MessageCollector } from '../support/kafka.js';
import { spawnService, type ServiceProcess } from '../support/process.js';
import { configFrom, createServiceTopics, isolatedEnv, produce, refundRecord, testSandbox } from '../support/service.js';
import { testRandom } from '../support/seed.js';


const TOTAL = 2_000;

function plan(i: number): { scenario: Scenario; outcome: 'refund.completed' | 'refund.failed'; reason?: string } {
  switch (i % 5) {
    case 0:
      return { scenario: {}, outcome: 'refund.completed' };
    case 1:
      return { scenario: { pendingInquiries: 2 }, outcome: 'refund.completed' };
    case 2:
      return { scenario: { final: 'FAIL', failCode: 'MERCHANT_BALANCE_NOT_ENOUGH', failureReporting: 'result-code' }, outcome: 'refund.failed', reason: 'MERCHANT_BALANCE_NOT_ENOUGH' };
    case 3:
      return { scenario: { final: 'FAIL', failCode: 'RISK_REJECT', failureReporting: 'result-code', pendingInquiries: 1 }, outcome: 'refund.failed', reason: 'RISK_REJECT' };
    default:
      // Final after a short while and pushed by notifyRefund: races the poll loop.
      return { scenario: { pendingMs: 400 + (i % 7) * 100, notify: true }, outcome: 'refund.completed' };
  }
}

describe('crash safety of the poll loop and the outbox', () => {
  const running: ServiceProcess[] = [];
  const collectors: MessageCollector[] = [];
  let sandbox: AntomSandbox | undefined;

  afterAll(async () => {
    for (const p of running) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }
    for (const c of collectors) await c.stop();
    await sandbox?.close();
  });

  it('SIGKILLed at random points with 2,000 refunds in flight, every refund still ends with exactly its expected outcome', async () => {
    const port = await freePort();
    // Antom's resend schedule, compressed 1,000×: a notification that hit a dead service is resent
    // within seconds, as real Antom would within hours.
    sandbox = await testSandbox({ notifyRetries: 'antom', timeScale: 1000, notifyUrl: `http://127.0.0.1:${port}/antom/notify/refund` });
    const env = isolatedEnv('pollcrash', {
      ...sandbox.serviceEnv('v2'),
      HTTP_PORT: String(port),
      POLL_FIRST_DELAY: '200ms',
      POLL_MAX_INTERVAL: '2s',
      ANTOM_RATE_LIMIT: '400',
      ANTOM_CONCURRENCY: '16',
      ANTOM_TIMEOUT: '3s',
      LOG_LEVEL: 'warn',
    });
    const config = configFrom(env);
    await createServiceTopics(config, 3);
    const plans = Array.from({ length: TOTAL }, (_, i) => plan(i));
    sandbox.createRefunds(
      plans.map((p, i) => ({
        refundId: `RF-${String(i).padStart(7, '0')}`,
        refundRequestId: `RQ-${i}`,
        paymentId: `PAY-${i}`,
        notify: false,
        ...p.scenario,
      })),
    );
    const completed = await collectMessages(env.KAFKA_BROKERS!, config.values.TOPIC_REFUND_COMPLETED);
    const failed = await collectMessages(env.KAFKA_BROKERS!, config.values.TOPIC_REFUND_FAILED);
    collectors.push(completed, failed);
    const outcomes = () => [...completed.messages, ...failed.messages];
    const decided = () => new Set(outcomes().map((m) => m.key)).size;

    await produce(env.KAFKA_BROKERS!, config.values.TOPIC_REFUND_INITIATED, Array.from({ length: TOTAL }, (_, i) => refundRecord(i)));

    // Kill at outcome counts drawn at random: the kills land mid-inquiry, mid-transaction and
    // mid-publish, wherever the service happens to be.
    const { random } = testRandom('poll-crash');
    const thresholds = [0, 1, 2].map((k) => Math.floor(((k + 1) * TOTAL) / 4 + (random() - 0.5) * (TOTAL / 8)));
    for (const threshold of thresholds) {
      const p = spawnService(['start'], env);
      running.push(p);
      await until(() => decided() >= threshold, { timeoutMs: 60_000, intervalMs: 5, message: `${threshold} outcomes before the kill\n${p.output().slice(-3000)}` });
      p.child.kill('SIGKILL');
      await p.exited;
    }
    expect(decided()).toBeLessThan(TOTAL);

    const last = spawnService(['start'], env);
    running.push(last);
    await until(() => decided() === TOTAL, { timeoutMs: 150_000, intervalMs: 100, message: `all ${TOTAL} outcomes\n${last.output().slice(-3000)}` });
    last.child.kill('SIGTERM');
    expect((await last.exited).code).toBe(0);

    const byKey = new Map<string, Array<{ id: string; type: string; reason?: string }>>();
    for (const m of outcomes()) {
      const event = JSON.parse(m.value!);
      const list = byKey.get(m.key!) ?? [];
      list.push({ id: event.id, type: event.type, reason: event.data.reasonCode });
      byKey.set(m.key!, list);
    }
    let redelivered = 0;
    plans.forEach((p, i) => {
      const key = `RF-${String(i).padStart(7, '0')}`;
      const events = byKey.get(key) ?? [];
      // Any repeat is a redelivery of the same event: never two different outcomes.
      expect(new Set(events.map((e) => e.id)), key).toEqual(new Set([`${key}:${p.outcome}`]));
      expect(events[0]!.type, key).toBe(p.outcome);
      if (p.reason) expect(events[0]!.reason, key).toBe(p.reason);
      redelivered += events.length - 1;
    });
    // Redeliveries are possible (a kill between the broker's ack and the "sent" mark) but rare.
    expect(redelivered).toBeLessThan(TOTAL / 10);
  }, 330_000);
});
