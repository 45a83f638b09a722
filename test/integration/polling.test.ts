import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcomeEventSchemas, type OutcomeType } from '../../src/domain/outcome-event.js';
import type { Service } from '../../src/main.js';
import type { AntomSandbox } from '../../src/simulator/sandbox.js';
import type { Scenario } from '../../src/simulator/scenario.js';
import { collectMessages, until, type MessageCollector } from '../support/kafka.js';
import { configFrom, createServiceTopics, inProcessService, isolatedEnv, produce, refundRecord, testSandbox } from '../support/service.js';

/**
 * The heart of the service against real parts: a Kafka broker, the Antom sandbox (which verifies
 * our signatures and signs its answers), SQLite. Each refund plays one scenario; every refund
 * must end with exactly its expected outcome event, or with none.
 */
describe('polling refunds to their outcome (Kafka + Antom sandbox + SQLite)', () => {
  let sandbox: AntomSandbox;
  let service: Service;
  let httpUrl: string;
  let outcomes: MessageCollector;
  let stalled: MessageCollector;
  let config: ReturnType<typeof configFrom>;

  const cases: Array<{ id: string; scenario?: Scenario; expect: 'completed' | 'failed' | 'none' | 'stalled'; reason?: string; detectedBy?: 'poll' | 'notify' }> = [
    { id: 'OK-AT-ONCE', scenario: {}, expect: 'completed' },
    { id: 'OK-AFTER-3', scenario: { pendingInquiries: 2 }, expect: 'completed' },
    { id: 'FAIL-BALANCE', scenario: { final: 'FAIL', failCode: 'MERCHANT_BALANCE_NOT_ENOUGH', failureReporting: 'result-code' }, expect: 'failed', reason: 'MERCHANT_BALANCE_NOT_ENOUGH' },
    { id: 'FAIL-RISK', scenario: { final: 'FAIL', failCode: 'RISK_REJECT', failureReporting: 'result-code', pendingInquiries: 1 }, expect: 'failed', reason: 'RISK_REJECT' },
    { id: 'FAIL-NO-REASON', scenario: { final: 'FAIL', failCode: 'PROCESS_FAIL' }, expect: 'failed', reason: 'REFUND_FAILED' },
    // Never an outcome: a wrong client id looks just like this. Stalled and escalated instead.
    { id: 'UNKNOWN-TO-ANTOM', expect: 'stalled', reason: 'ORDER_NOT_EXIST' },
    { id: 'U-THEN-OK', scenario: { faults: [{ kind: 'unknown-exception', inquiries: [1, 2] }] }, expect: 'completed' },
    { id: '5XX-BURST-THEN-OK', scenario: { faults: [{ kind: 'http-error', httpStatus: 503, inquiries: [1, 2, 3] }] }, expect: 'completed' },
    { id: 'MALFORMED-THEN-OK', scenario: { faults: [{ kind: 'malformed-json', inquiries: [1] }] }, expect: 'completed' },
    { id: 'TRAFFIC-LIMIT-THEN-OK', scenario: { faults: [{ kind: 'traffic-limit', inquiries: [1] }] }, expect: 'completed' },
    { id: 'FORGED-ALWAYS', scenario: { faults: [{ kind: 'forged-signature' }] }, expect: 'none' },
    { id: 'UNSIGNED-SUCCESS', scenario: { faults: [{ kind: 'unsigned' }] }, expect: 'none' },
    { id: 'FORGED-FAIL', scenario: { final: 'FAIL', failCode: 'RISK_REJECT', failureReporting: 'result-code', faults: [{ kind: 'forged-signature' }] }, expect: 'none' },
  ];

  beforeAll(async () => {
    sandbox = await testSandbox();
    const env = isolatedEnv('poll', {
      ...sandbox.serviceEnv('v2'),
      POLL_FIRST_DELAY: '100ms',
      POLL_MAX_INTERVAL: '5s',
      POLL_NOT_FOUND_GRACE: '3s',
      // A failure from an F result is asked about again before it fails the refund.
      POLL_CONFIRM_FAILURE_AFTER: '500ms',
      ANTOM_TIMEOUT: '2s',
      ANTOM_RATE_LIMIT: '200',
      ANTOM_SLOWDOWN: '2s',
      // Slack on (a webhook nobody answers), so the integration faults are routed to a receiver.
      SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/services/T0/B0/unanswered',
    });
    config = configFrom(env);
    await createServiceTopics(config, 1);
    service = inProcessService(config);
    ({ httpUrl } = await service.start());
    const notifyUrl = `${httpUrl}${config.values.ANTOM_NOTIFY_PATH}`;
    sandbox.createRefunds(
      cases
        .filter((c) => c.scenario)
        .map((c) => ({ refundId: c.id, refundRequestId: `RQ-${c.id}`, paymentId: `P-${c.id}`, notify: false, ...c.scenario })),
    );
    // Final after 600 ms of Antom time, pushed by notifyRefund: it arrives between our first
    // inquiry (100 ms) and the second (≥ 1.6 s), so the notification is what makes it final.
    // For the amount the record carries (refundRecord(i): USD 100 + i minor units): a notification
    // for another amount would not be believed.
    const notifiedAmount = { currency: 'USD', value: String(100 + cases.length) };
    sandbox.createRefund({ refundId: 'NOTIFIED', refundRequestId: 'RQ-NOTIFIED', paymentId: 'P-NOTIFIED', pendingMs: 600, notifyUrl, refundAmount: notifiedAmount });
    cases.push({ id: 'NOTIFIED', expect: 'completed', detectedBy: 'notify' });

    outcomes = await collectMessages(env.KAFKA_BROKERS!, config.values.TOPIC_REFUND_COMPLETED);
    const failed = await collectMessages(env.KAFKA_BROKERS!, config.values.TOPIC_REFUND_FAILED);
    stalled = await collectMessages(env.KAFKA_BROKERS!, config.values.TOPIC_REFUND_STALLED);
    // Both outcome topics into one list.
    const merged = outcomes.messages;
    const origPush = failed.messages.push.bind(failed.messages);
    failed.messages.push = (...items) => {
      merged.push(...items);
      return origPush(...items);
    };
    const stopFailed = failed.stop;
    const stopCompleted = outcomes.stop;
    outcomes.stop = async () => {
      await Promise.all([stopCompleted(), stopFailed()]);
    };

    await produce(
      env.KAFKA_BROKERS!,
      config.values.TOPIC_REFUND_INITIATED,
      cases.map((c, i) => refundRecord(i, { refundId: c.id, refundRequestId: `RQ-${c.id}`, paymentId: `P-${c.id}` })),
    );
  });

  afterAll(async () => {
    await outcomes?.stop();
    await stalled?.stop();
    await service?.stop();
    await sandbox?.close();
  });

  it('every refund ends with exactly its expected outcome, in the contract shape', async () => {
    const decided = cases.filter((c) => c.expect === 'completed' || c.expect === 'failed');
    await until(() => new Set(outcomes.messages.map((m) => m.key)).size === decided.length, {
      timeoutMs: 40_000,
      message: `${decided.length} refunds decided; got ${outcomes.messages.map((m) => m.key).join(', ')}`,
    });
    for (const c of decided) {
      const records = outcomes.messages.filter((m) => m.key === c.id);
      const ids = new Set(records.map((m) => JSON.parse(m.value!).id));
      expect(ids.size, `${c.id}: one event id`).toBe(1);
      const event = JSON.parse(records[0]!.value!);
      const type = `refund.${c.expect}` as OutcomeType;
      expect(() => outcomeEventSchemas[type].parse(event), `${c.id} matches the ${type} schema`).not.toThrow();
      expect(records[0]!.headers['content-type']).toBe('application/cloudevents+json');
      expect(event).toMatchObject({ id: `${c.id}:${type}`, type, source: '/refund-notifier', subject: c.id, data: { refundId: c.id, paymentId: `P-${c.id}` } });
      if (c.reason) expect(event.data.reasonCode, c.id).toBe(c.reason);
      if (c.detectedBy) expect(event.data.detectedBy, c.id).toBe(c.detectedBy);
      const refund = await service.store.getRefund(c.id);
      expect(refund?.status, c.id).toBe(c.expect);
      expect(refund?.nextPollAt, `${c.id} is never inquired again`).toBeUndefined();
    }
    const escalations = outcomes.messages.filter((m) => JSON.parse(m.value!).data.escalated === true).map((m) => m.key).sort();
    // Escalated: the codes the table marks so, and a failure without a reason (someone must look
    // it up).
    expect(escalations).toEqual(['FAIL-BALANCE', 'FAIL-NO-REASON', 'FAIL-RISK']);
    // A failure read from an F result was asked about twice before it was believed.
    expect(sandbox.seen('FAIL-BALANCE').inquiries.map((i) => i.answer)).toEqual(['DPOS_REFUND_MERCHANT_BALANCE_NOT_ENOUGH', 'DPOS_REFUND_MERCHANT_BALANCE_NOT_ENOUGH']);
    expect((await service.store.timeline('FAIL-BALANCE')).map((e) => e.message)).toContainEqual(expect.stringMatching(/failure confirmed/));
  }, 60_000);

  it('never takes a forged or unsigned answer as a status, and says so once', async () => {
    for (const id of ['FORGED-ALWAYS', 'UNSIGNED-SUCCESS', 'FORGED-FAIL']) {
      await until(() => sandbox.seen(id).inquiries.length >= 2, { timeoutMs: 20_000, message: `${id} inquired twice` });
      const refund = await service.store.getRefund(id);
      expect(refund?.status, id).toBe('pending');
      expect(refund?.reasonCode, id).toMatch(/^RESPONSE_SIGNATURE_(INVALID|MISSING)$/);
      expect(outcomes.messages.filter((m) => m.key === id), id).toEqual([]);
    }
    // Routed when decided, under the alert's scope: one delivery per code per hour, however many
    // refunds and inquiries hit it.
    const deliveries = await service.store.listOutbox({ kind: 'delivery', limit: 5000 });
    const faults = deliveries.filter((d) => d.dedupeKey.startsWith('delivery:integration-fault:'));
    const codes = faults.map((d) => (d.payload as { subject: { reasonCode: string } }).subject.reasonCode).sort();
    // (ORDER_NOT_EXIST: the refund Antom never knew, once past POLL_NOT_FOUND_GRACE.)
    expect(codes).toEqual(['ORDER_NOT_EXIST', 'RESPONSE_SIGNATURE_INVALID', 'RESPONSE_SIGNATURE_MISSING']);
  });

  it('the notification stopped the polling early, and the later poll did not add anything', async () => {
    const refund = await service.store.getRefund('NOTIFIED');
    expect(refund).toMatchObject({ status: 'completed', detectedBy: 'notify' });
    // The notification came within the first second: at most the first inquiry happened before it,
    // none after it.
    const seen = sandbox.seen('NOTIFIED').inquiries.length;
    expect(seen).toBeLessThanOrEqual(1);
    expect(refund!.inquiries).toBe(seen);
    const timeline = await service.store.timeline('NOTIFIED');
    expect(timeline.map((e) => e.kind).slice(-3)).toEqual(['notify', 'status', 'event']);
    expect(sandbox.notifications({ refundId: 'NOTIFIED' }).map((n) => [n.httpStatus, n.acknowledged])).toEqual([[200, true]]);
  });

  it('transient faults cost inquiries, not outcomes: the refund is retried until Antom answers', async () => {
    expect(sandbox.seen('5XX-BURST-THEN-OK').inquiries.length).toBe(4);
    expect((await service.store.getRefund('5XX-BURST-THEN-OK'))?.inquiries).toBe(4);
    expect((await service.store.getRefund('U-THEN-OK'))?.inquiries).toBe(3);
    const timeline = await service.store.timeline('5XX-BURST-THEN-OK');
    expect(timeline.filter((e) => e.kind === 'inquiry').map((e) => e.message)).toEqual([
      expect.stringMatching(/no answer about the refund: .*503/),
      expect.stringMatching(/503/),
      expect.stringMatching(/503/),
    ]);
  });

  it('all outcome events are published and marked sent; only the refund Antom never knew is stalled, never failed', async () => {
    await until(async () => (await service.store.countOutbox()).pending === 0 || (await service.store.listOutbox({ status: 'pending', kind: 'event' })).length === 0, {
      message: 'event outbox drained',
    });
    expect(await service.store.listOutbox({ status: 'pending', kind: 'event' })).toEqual([]);
    await until(() => stalled.messages.length >= 1, { message: 'the stall of the unknown refund published' });
    expect(stalled.messages.map((m) => [m.key, JSON.parse(m.value!).data.reasonCode])).toEqual([['UNKNOWN-TO-ANTOM', 'ORDER_NOT_EXIST']]);
    const unknown = await service.store.getRefund('UNKNOWN-TO-ANTOM');
    expect(unknown).toMatchObject({ status: 'stalled', reasonCode: 'ORDER_NOT_EXIST', escalated: true });
    expect(unknown?.nextPollAt).toBeDefined();
    expect(outcomes.messages.filter((m) => m.key === 'UNKNOWN-TO-ANTOM')).toEqual([]);
  });
});
