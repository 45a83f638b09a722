import { afterAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/main.js';
import type { AntomSandbox } from '../../src/simulator/sandbox.js';
import { until } from '../support/kafka.js';
import { configFrom, createServiceTopics, inProcessService, isolatedEnv, produce, refundRecord, testSandbox } from '../support/service.js';

/**
 * A refund is asked with the inquiryRefund flavour it was tracked with (docs/antom.md): a service
 * that tracked refunds under ANTOM_API=v1 and is restarted with v2 must not ask them through v2,
 * where Antom does not know them (they were answered ORDER_NOT_EXIST and, before, failed at once).
 */
describe('switching ANTOM_API', () => {
  let sandbox: AntomSandbox | undefined;
  const services: Service[] = [];
  afterAll(async () => {
    for (const s of services) await s.stop();
    await sandbox?.close();
  });

  it('keeps asking v1 refunds through v1, and asks new ones through v2', async () => {
    sandbox = await testSandbox();
    const v1 = isolatedEnv('flavour', { ...sandbox.serviceEnv('v1'), POLL_FIRST_DELAY: '1m', POLL_MAX_INTERVAL: '1m' });
    const config1 = configFrom(v1);
    await createServiceTopics(config1, 1);
    sandbox.createRefunds(
      ['OLD-1', 'OLD-2', 'NEW-1'].map((id) => ({ refundId: id, refundRequestId: `RQ-${id}`, paymentId: `P-${id}`, notify: false })),
    );
    // Tracked under v1, then the service stops before their first inquiry.
    const first = inProcessService(config1);
    services.push(first);
    await first.start();
    await produce(v1.KAFKA_BROKERS!, config1.values.TOPIC_REFUND_INITIATED, ['OLD-1', 'OLD-2'].map((id, i) => refundRecord(i, { refundId: id, refundRequestId: `RQ-${id}`, paymentId: `P-${id}` })));
    await until(async () => (await first.store.countByStatus()).pending === 2, { message: 'two refunds tracked under v1' });
    await first.stop();
    expect(['OLD-1', 'OLD-2'].map((id) => sandbox!.seen(id).inquiries.length)).toEqual([0, 0]);

    // The same store and topics, now configured for v2.
    const config2 = configFrom({ ...v1, ...sandbox.serviceEnv('v2'), POLL_FIRST_DELAY: '100ms' });
    const second = inProcessService(config2);
    services.push(second);
    await second.start();
    // Due now rather than in a minute (as an operator's re-check would make them).
    for (const id of ['OLD-1', 'OLD-2']) await second.store.recheckNow(id, Date.now());
    second.poller.wake();
    await produce(v1.KAFKA_BROKERS!, config2.values.TOPIC_REFUND_INITIATED, [refundRecord(2, { refundId: 'NEW-1', refundRequestId: 'RQ-NEW-1', paymentId: 'P-NEW-1' })]);
    await until(async () => (await second.store.countByStatus()).completed === 3, { timeoutMs: 30_000, message: 'all three completed' });
    expect(sandbox.seen('OLD-1').inquiries.map((i) => i.api)).toEqual(['v1']);
    expect(sandbox.seen('OLD-2').inquiries.map((i) => i.api)).toEqual(['v1']);
    expect(sandbox.seen('NEW-1').inquiries.map((i) => i.api)).toEqual(['v2']);
    expect((await second.store.getRefund('OLD-1'))?.antomApi).toBe('v1');
    expect((await second.store.getRefund('NEW-1'))?.antomApi).toBe('v2');
  }, 90_000);
});
