import type { ParsedMail } from 'mailparser';
import { afterAll, describe, expect, it } from 'vitest';
import type { Service } from '../../../src/main.js';
import type { AntomSandbox } from '../../../src/simulator/sandbox.js';
import { until } from '../../support/kafka.js';
import { configFrom, createServiceTopics, inProcessService, isolatedEnv, produce, refundRecord, testSandbox } from '../../support/service.js';
import { startSlackStub, type SlackStub } from '../../support/slack-stub.js';
import { startSmtpCapture, type SmtpCapture } from '../../support/smtp.js';

/**
 * The fault suite, an SMTP outage (docs/reliability.md): the mail server answers "451 try again
 * later" to every message for 40 seconds while 250 refunds with a customer complete. Mail servers
 * retry a 4xx for days; so must we. Afterwards every customer has exactly one email, nobody was
 * given up on, and operations heard of it exactly twice: once that emails are delayed (how many,
 * since when), once that they flow again.
 *
 * Shrunk in time, not in what is asserted: the outage is announced after NOTIFY_FALLBACK_AFTER
 * (10 s here, 5 minutes by default); customer emails would be given up only after
 * CUSTOMER_EMAIL_GIVE_UP_AFTER (72 h, unchanged).
 */

const REFUNDS = 250;
const OUTAGE_MS = 40_000;

describe('fault suite: the SMTP server answers 451 for a while', () => {
  let sandbox: AntomSandbox | undefined;
  let smtp: SmtpCapture | undefined;
  let slack: SlackStub | undefined;
  let service: Service | undefined;
  afterAll(async () => {
    await service?.stop();
    await Promise.all([sandbox?.close(), smtp?.close(), slack?.close()]);
  });

  it('every customer gets exactly one email afterwards, and operations hear once each way', async () => {
    sandbox = await testSandbox();
    smtp = await startSmtpCapture();
    slack = await startSlackStub();
    const env = isolatedEnv('smtp-outage', {
      ...sandbox.serviceEnv('v2'),
      POLL_FIRST_DELAY: '100ms',
      POLL_MAX_INTERVAL: '2s',
      ANTOM_RATE_LIMIT: '500',
      SMTP_URL: smtp.url,
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_API_URL: slack.url,
      NOTIFY_FALLBACK_AFTER: '10s',
    });
    const config = configFrom(env);
    await createServiceTopics(config, 3);
    // Completions spread over the outage: a third at once, the rest after one to four pending answers.
    sandbox.createRefunds(
      Array.from({ length: REFUNDS }, (_, i) => ({
        refundId: `RF-${String(i).padStart(7, '0')}`,
        refundRequestId: `RQ-${i}`,
        paymentId: `PAY-${i}`,
        notify: false,
        ...(i % 3 === 0 ? {} : { pendingInquiries: 1 + (i % 4) }),
      })),
    );

    smtp.setRefusing({ code: 451, message: '4.3.0 try again later' });
    const outageStarted = Date.now();
    service = inProcessService(config);
    await service.start();
    await produce(env.KAFKA_BROKERS!, config.values.TOPIC_REFUND_INITIATED, Array.from({ length: REFUNDS }, (_, i) => refundRecord(i)));

    const escalations = () => slack!.messages().filter((m) => /Customer emails (are delayed|flow again)/.test(m.text));
    // Announced once, after NOTIFY_FALLBACK_AFTER, with how many wait and since when.
    const announced = await until(() => escalations().find((m) => /are delayed/.test(m.text)), {
      timeoutMs: 30_000,
      intervalMs: 200,
      message: 'operations told that customer emails are delayed',
    });
    expect(announced!.text).toMatch(/the mail server has been failing for \d+s \(since .*Z\); \d+ customer emails? (is|are) waiting/);
    expect(Date.now() - outageStarted).toBeGreaterThanOrEqual(10_000);

    // The outage lasts its 40 s while refunds keep completing.
    await until(() => Date.now() - outageStarted >= OUTAGE_MS, { timeoutMs: OUTAGE_MS + 5_000, intervalMs: 200 });
    const completedDuring = (await service.store.countByStatus()).completed;
    expect(completedDuring).toBeGreaterThanOrEqual(200);
    expect(smtp.count()).toBe(0);
    const refusedDuring = smtp.refused();
    smtp.setRefusing(undefined);
    const recovered = Date.now();

    const customers = () => smtp!.messages.map((m: ParsedMail) => (Array.isArray(m.to) ? m.to[0] : m.to)?.value[0]?.address ?? '?');
    await until(() => smtp!.count() >= REFUNDS, { timeoutMs: 90_000, intervalMs: 200, message: `all ${REFUNDS} customer emails sent after the outage (${smtp!.count()} so far)` });
    const drained = Date.now() - recovered;
    await until(() => escalations().some((m) => /flow again/.test(m.text)), { timeoutMs: 30_000, intervalMs: 200, message: 'operations told that emails flow again' });

    // Exactly one email per customer, none given up, nothing left waiting.
    const sent = customers();
    expect(sent).toHaveLength(REFUNDS);
    expect(new Set(sent).size).toBe(REFUNDS);
    const deliveries = (await service.store.listOutbox({ kind: 'delivery', limit: 1000 })).filter((e) => e.channel === 'customer');
    expect(deliveries).toHaveLength(REFUNDS);
    expect(deliveries.filter((e) => e.status !== 'sent')).toEqual([]);
    // Two messages to operations about it, no more: no per-email escalations.
    expect(escalations().map((m) => m.text.split(':')[0])).toEqual(['Customer emails are delayed', expect.stringMatching(/^Customer emails flow again after/)]);
    expect(slack.messages().filter((m) => /CUSTOMER_EMAIL_NOT_SENT/.test(JSON.stringify(m)))).toEqual([]);
    expect(await service.store.getOutage('customer')).toBeUndefined();
    console.log(
      `[smtp-outage] ${REFUNDS} customer refunds, SMTP refused ${refusedDuring} attempts over ${OUTAGE_MS / 1000} s; ${completedDuring} completed during the outage; all ${REFUNDS} emails out ${(drained / 1000).toFixed(1)} s after it ended; 0 lost, 0 twice`,
    );
  }, 240_000);
});
