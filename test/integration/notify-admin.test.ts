import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAntomKeyPair, loadPrivateKey } from '../../src/adapters/antom/keys.js';
import { NOTIFY_ACK_BODY } from '../../src/adapters/antom/notify.js';
import { signatureHeaderFor } from '../../src/adapters/antom/signature.js';
import type { Service } from '../../src/main.js';
import { until } from '../support/kafka.js';
import { configFrom, createServiceTopics, inProcessService, isolatedEnv, produce, refundRecord } from '../support/service.js';

/**
 * The HTTP side: Antom's notifyRefund (signatures checked exactly, bad ones change nothing) and
 * the admin API an operator uses to see what is pending, stuck and sent.
 */
describe('notifyRefund receiver and admin API', () => {
  const antom = generateAntomKeyPair(); // plays Antom: signs the notifications
  const forger = generateAntomKeyPair();
  const ADMIN = 'admin-token-for-tests';
  let service: Service;
  let url: string;
  let adminUrl: string;
  let config: ReturnType<typeof configFrom>;

  beforeAll(async () => {
    // Slack on (a webhook nobody answers): the alerts this suite raises must be routed to somewhere.
    const env = isolatedEnv('notify', { ANTOM_PUBLIC_KEY: antom.publicKey, ADMIN_TOKEN: ADMIN, SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/services/T0/B0/unanswered' });
    config = configFrom(env);
    await createServiceTopics(config, 1);
    service = inProcessService(config);
    ({ httpUrl: url, adminUrl } = await service.start());
    await produce(env.KAFKA_BROKERS!, config.values.TOPIC_REFUND_INITIATED, [
      refundRecord(1, { refundId: 'N-1', refundRequestId: 'NQ-1' }),
      refundRecord(2, { refundId: 'N-2', refundRequestId: 'NQ-2' }),
      refundRecord(3, { refundId: 'N-3', refundRequestId: 'NQ-3', customer: { email: 'secret.person@example.com' } }),
    ]);
    await until(async () => (await service.store.countByStatus()).pending === 3, { message: 'three refunds tracked' });
  });

  afterAll(async () => {
    await service?.stop();
  });

  // The amount of refundRecord(n): USD 100 + n minor units, as tracked.
  const trackedAmount = (refundId: string) => ({ currency: 'USD', value: String(100 + Number(refundId.replace('N-', ''))) });

  function notification(
    refundId: string,
    status: 'SUCCESS' | 'FAIL',
    code = status === 'SUCCESS' ? 'SUCCESS' : 'RISK_REJECT',
    over: Record<string, unknown> = {},
  ) {
    return JSON.stringify({
      notifyType: 'REFUND_RESULT',
      result: { resultCode: code, resultStatus: status === 'SUCCESS' ? 'S' : 'F', resultMessage: status === 'SUCCESS' ? 'success' : 'Rejected because of risk control' },
      refundStatus: status,
      refundId,
      refundRequestId: refundId.replace('N-', 'NQ-'),
      refundAmount: Number.isNaN(Number(refundId.replace('N-', ''))) ? { currency: 'USD', value: '1250' } : trackedAmount(refundId),
      ...(status === 'SUCCESS' ? { refundTime: '2026-11-25T10:00:00+08:00' } : {}),
      ...over,
    });
  }

  /** The delivery dedupe keys written for an alert raised under `scope` (and no notice left unrouted). */
  async function scopedDeliveries(refundKey: string, scope: string): Promise<string[]> {
    expect(await service.store.listOutbox({ refundKey, kind: 'notice' })).toEqual([]);
    return (await service.store.listOutbox({ refundKey, kind: 'delivery' })).map((e) => e.dedupeKey).filter((k) => k.startsWith(`delivery:${scope}:`));
  }

  async function post(body: string, signWith: ReturnType<typeof generateAntomKeyPair> | undefined, path = config.values.ANTOM_NOTIFY_PATH, clientId = 'SANDBOX_TEST', base = url) {
    const time = '2026-11-25T10:00:01Z';
    const headers: Record<string, string> = { 'content-type': 'application/json', 'client-id': clientId, 'request-time': time };
    if (signWith) {
      headers.signature = signatureHeaderFor({ path, clientId, time, body, privateKey: loadPrivateKey(signWith.privateKey), keyVersion: '1' });
    }
    const res = await fetch(`${base}${path}`, { method: 'POST', headers, body });
    return { status: res.status, body: await res.text() };
  }

  it('refuses a forged, an unsigned and a tampered notification with 401, changing nothing', async () => {
    expect((await post(notification('N-1', 'SUCCESS'), forger)).status).toBe(401);
    expect((await post(notification('N-1', 'SUCCESS'), undefined)).status).toBe(401);
    // Signed for one body, sent with another.
    const signedFor = notification('N-1', 'FAIL');
    const time = '2026-11-25T10:00:01Z';
    const signature = signatureHeaderFor({ path: config.values.ANTOM_NOTIFY_PATH, clientId: 'SANDBOX_TEST', time, body: signedFor, privateKey: loadPrivateKey(antom.privateKey), keyVersion: '1' });
    const res = await fetch(`${url}${config.values.ANTOM_NOTIFY_PATH}`, {
      method: 'POST',
      headers: { 'client-id': 'SANDBOX_TEST', 'request-time': time, signature },
      body: notification('N-1', 'SUCCESS'),
    });
    expect(res.status).toBe(401);
    const refund = await service.store.getRefund('N-1');
    expect(refund).toMatchObject({ status: 'pending', version: 0 });
    expect(await service.store.listOutbox({ refundKey: 'N-1' })).toEqual([]);
  });

  it('a verified notification finalises the refund and is acknowledged with the fixed body', async () => {
    const res = await post(notification('N-1', 'SUCCESS'), antom);
    expect(res).toEqual({ status: 200, body: NOTIFY_ACK_BODY });
    expect(await service.store.getRefund('N-1')).toMatchObject({ status: 'completed', detectedBy: 'notify', refundTime: '2026-11-25T10:00:00+08:00' });
    const before = (await service.store.timeline('N-1')).length;
    // Antom resends: acknowledged again, nothing new queued, nothing written (not even a timeline row).
    for (let i = 0; i < 3; i++) expect(await post(notification('N-1', 'SUCCESS'), antom)).toEqual({ status: 200, body: NOTIFY_ACK_BODY });
    expect(await service.store.timeline('N-1')).toHaveLength(before);
    // A contradicting one is acknowledged (it is not going to change) but not obeyed: escalated
    // once, however often it comes.
    for (let i = 0; i < 3; i++) expect((await post(notification('N-1', 'FAIL'), antom)).status).toBe(200);
    expect((await service.store.getRefund('N-1'))?.status).toBe('completed');
    const events = (await service.store.listOutbox({ refundKey: 'N-1', kind: 'event' })).map((e) => e.dedupeKey);
    expect(events).toEqual(['event:N-1:refund.completed']);
    const alerts = (await service.store.timeline('N-1')).filter((e) => e.kind === 'alert').map((e) => e.message);
    expect(alerts).toEqual(['Antom notified FAIL (RISK_REJECT), but the refund was already reported completed: kept completed, escalated']);
    // Routed when decided, under the alert's scope: one delivery per receiver, however often it came.
    expect(await scopedDeliveries('N-1', 'outcome-contradicted:N-1')).toEqual(['delivery:outcome-contradicted:N-1:slack:#refund-escalations:integration-fault']);
  });

  it('a notification for another amount than the tracked one is acknowledged, recorded and escalated, not applied', async () => {
    const res = await post(notification('N-3', 'SUCCESS', 'SUCCESS', { refundAmount: { currency: 'USD', value: '999999' } }), antom);
    expect(res).toEqual({ status: 200, body: NOTIFY_ACK_BODY });
    expect(await service.store.getRefund('N-3')).toMatchObject({ status: 'pending' });
    const alerts = (await service.store.timeline('N-3')).filter((e) => e.kind === 'alert').map((e) => e.message);
    expect(alerts).toEqual(['Antom notified SUCCESS for $9,999.99, but the refund was initiated for $1.03: not finalised from the notification, escalated; the inquiries decide']);
    expect(await scopedDeliveries('N-3', 'notified-amount-differs:N-3')).toEqual(['delivery:notified-amount-differs:N-3:slack:#refund-escalations:integration-fault']);
  });

  it('a refundRequestId alone matches only a refund without another refundId', async () => {
    // N-2's request id, but another refundId: not ours to finalise; not acknowledged.
    const res = await post(notification('N-OTHER', 'SUCCESS', 'SUCCESS', { refundRequestId: 'NQ-2' }), antom);
    expect(res.status).toBe(404);
    expect((await service.store.getRefund('N-2'))?.status).toBe('pending');
  });

  it('a signed body that is not a refund notification gets 400 with the reason, not 401', async () => {
    const res = await post(JSON.stringify({ notifyType: 'REFUND_RESULT', result: { resultCode: 'SUCCESS', resultStatus: 'S' }, refundStatus: 'DONE', refundId: 'N-2' }), antom);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ result: { resultCode: 'PARAM_ILLEGAL', resultMessage: expect.stringMatching(/^not a refund notification: refundStatus/) } });
  });

  it('a notification signed for another client id is refused', async () => {
    const res = await post(notification('N-2', 'SUCCESS'), antom, config.values.ANTOM_NOTIFY_PATH, 'SANDBOX_SOMEONE_ELSE');
    expect(res.status).toBe(401);
    expect((await service.store.getRefund('N-2'))?.status).toBe('pending');
  });

  it('a failure notification carries its reason code', async () => {
    await post(notification('N-2', 'FAIL', 'RISK_REJECT'), antom);
    expect(await service.store.getRefund('N-2')).toMatchObject({ status: 'failed', reasonCode: 'RISK_REJECT', escalated: true, detectedBy: 'notify' });
  });

  it('does not acknowledge a notification for a refund it does not track, so Antom resends it', async () => {
    const res = await post(notification('N-404', 'SUCCESS'), antom);
    expect(res.status).toBe(404);
  });

  it('admin: off without the token, lists and inspects refunds with masked emails, re-checks, shows the outbox', async () => {
    const get = (path: string, token: string | null = ADMIN) =>
      fetch(`${adminUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    expect((await get('/admin/summary', null)).status).toBe(401);
    expect((await get('/admin/summary', 'wrong')).status).toBe(401);

    expect(await (await get('/admin/summary')).json()).toMatchObject({ refunds: { pending: 1, completed: 1, failed: 1 } });
    const pending = (await (await get('/admin/refunds?status=pending')).json()) as { refunds: Array<{ id: string; customer?: { email?: string } }> };
    expect(pending.refunds.map((r) => r.id)).toEqual(['N-3']);
    expect(pending.refunds[0]!.customer!.email).toBe('s***@e***.com');
    expect((await get('/admin/refunds?status=bogus')).status).toBe(400);

    const detail = (await (await get('/admin/refunds/N-1')).json()) as { refund: { status: string }; timeline: Array<{ kind: string }>; outbox: Array<{ kind: string; status: string }> };
    expect(detail.refund.status).toBe('completed');
    expect(detail.timeline.map((e) => e.kind)).toContain('notify');
    expect(detail.outbox.map((e) => e.kind)).toContain('event');
    expect((await get('/admin/refunds/none')).status).toBe(404);

    const recheck = await fetch(`${adminUrl}/admin/refunds/N-3/recheck`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(recheck.status).toBe(202);
    expect((await service.store.getRefund('N-3'))!.nextPollAt!).toBeLessThanOrEqual(Date.now());
    expect((await fetch(`${adminUrl}/admin/refunds/N-1/recheck`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(409);

    await until(async () => (await service.store.countOutbox()).pending === 0 || (await service.store.listOutbox({ kind: 'event', status: 'pending' })).length === 0);
    const sent = (await (await get('/admin/outbox?kind=event')).json()) as { entries: Array<{ dedupeKey: string; status: string }> };
    expect(sent.entries.map((e) => [e.dedupeKey, e.status])).toEqual([
      ['event:N-1:refund.completed', 'sent'],
      ['event:N-2:refund.failed', 'sent'],
    ]);
  });

  it('health, readiness and metrics answer on the admin listener', async () => {
    expect(await (await fetch(`${adminUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/refund_notifier_notify_received_total \d+/);
    expect(metrics).toMatch(/refund_notifier_notify_rejected_total [1-9]/);
    expect(metrics).toMatch(/refund_notifier_refunds\{status="completed"\} 1/);
  });

  it('the notify listener (facing Antom) serves notifyRefund and /healthz only; the admin listener never the notify route', async () => {
    expect(url).not.toBe(adminUrl);
    const bearer = { authorization: `Bearer ${ADMIN}` };
    for (const path of ['/admin/summary', '/admin/refunds/N-1', '/metrics', '/readyz']) {
      expect((await fetch(`${url}${path}`, { headers: bearer })).status, path).toBe(404);
    }
    expect((await fetch(`${url}/admin/refunds/N-3/recheck`, { method: 'POST', headers: bearer })).status).toBe(404);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    // A well-signed notification sent to the admin port is not received there, and changes nothing.
    const res = await post(notification('N-3', 'SUCCESS'), antom, config.values.ANTOM_NOTIFY_PATH, 'SANDBOX_TEST', adminUrl);
    expect(res.status).toBe(404);
    expect((await service.store.getRefund('N-3'))?.status).toBe('pending');
  });
});
