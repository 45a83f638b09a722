import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAntomClient, type AntomClient } from '../../../src/adapters/antom/client.js';
import { generateAntomKeyPair, type AntomKeyPair } from '../../../src/adapters/antom/keys.js';
import { NOTIFY_ACK_BODY, verifyNotifyRequest, type VerifyNotifyResult } from '../../../src/adapters/antom/notify.js';
import { loadResultCodeTable } from '../../../src/config/result-codes.js';
import { classifyRefundNotification } from '../../../src/domain/classify.js';
import { NOTIFY_RETRY_INTERVALS_MS } from '../../../src/simulator/notifier.js';
import { startAntomSandbox, type AntomSandbox, type AntomSandboxOptions } from '../../../src/simulator/sandbox.js';
import { capturedLogger, until } from './support.js';

// notifyRefund from the sandbox to a receiver that verifies it the way the service will, the
// resend schedule under a compressed clock, the admin API over HTTP, and determinism by seed.

const NOTIFY_PATH = '/antom/notify/refund';
/** 24.4 h of Antom resends in about a second: 15 h / 100,000 = 540 ms for the longest gap. */
const FAST = 100_000;

let merchant: AntomKeyPair;
/** One sandbox key for every sandbox here: generating one per start is most of a test's time. */
let sandboxKey: AntomKeyPair;
let receiver: Server;
let receiverUrl: string;
/** What the receiver saw, in order. */
let received: VerifyNotifyResult[] = [];
/** How the receiver answers the n-th request (1-based); the fixed acknowledgement by default. */
let answer: (n: number) => { status: number; body: string } = () => ({ status: 200, body: NOTIFY_ACK_BODY });
let verifyingKey = '';
const sandboxes: AntomSandbox[] = [];
const clients: AntomClient[] = [];

beforeAll(async () => {
  merchant = generateAntomKeyPair();
  sandboxKey = generateAntomKeyPair();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const result = verifyNotifyRequest({ path: req.url ?? '/', headers: req.headers, rawBody: Buffer.concat(chunks), antomPublicKey: verifyingKey });
      received.push(result);
      const { status, body } = result.ok ? answer(received.length) : { status: 401, body: '{"error":"bad signature"}' };
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}${NOTIFY_PATH}`;
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
  received = [];
  answer = () => ({ status: 200, body: NOTIFY_ACK_BODY });
});

afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

async function sandbox(over: Partial<AntomSandboxOptions> = {}): Promise<AntomSandbox> {
  const s = await startAntomSandbox({
    merchantPublicKey: merchant.publicKey,
    sandboxPrivateKey: sandboxKey.privateKey,
    notifyUrl: receiverUrl,
    timeScale: FAST,
    ...over,
  });
  sandboxes.push(s);
  verifyingKey = s.publicKey;
  return s;
}

function clientFor(s: AntomSandbox, api: 'v1' | 'v2' = 'v2'): AntomClient {
  const c = createAntomClient(
    { baseUrl: s.url, api, clientId: 'SANDBOX_NOTIFY', privateKey: merchant.privateKey, antomPublicKey: s.publicKey, keyVersion: '1', timeoutMs: 5_000 },
    { logger: capturedLogger('warn').logger },
  );
  clients.push(c);
  return c;
}

describe('notifyRefund', () => {
  it('is pushed, signed, when the refund becomes final, and verifies with the sandbox public key', async () => {
    const s = await sandbox();
    const refund = s.createRefund({ pendingInquiries: 1 });
    const c = clientFor(s);
    await c.inquireRefund({ refundId: refund.refundId });
    expect(s.seen(refund.refundId).notifications).toEqual([]);
    await c.inquireRefund({ refundId: refund.refundId });
    await until(() => s.seen(refund.refundId).notifications.length === 1, { message: 'one notification' });
    expect(received).toHaveLength(1);
    const first = received[0];
    expect(first?.ok).toBe(true);
    if (!first?.ok) return;
    expect(first.notification).toMatchObject({
      notifyType: 'REFUND_RESULT',
      refundStatus: 'SUCCESS',
      refundId: refund.refundId,
      refundRequestId: refund.refundRequestId,
      refundAmount: refund.refundAmount,
      result: { resultCode: 'SUCCESS', resultStatus: 'S' },
      // The client id of the merchant's own requests.
      clientId: 'SANDBOX_NOTIFY',
    });
    expect(first.notification.refundTime).toMatch(/^\d{4}-/);
    expect(s.seen(refund.refundId).notifications[0]).toMatchObject({ attempt: 1, acknowledged: true, httpStatus: 200 });
  });

  it('a FAIL notification carries the reason code, which classifies as the failure', async () => {
    const s = await sandbox();
    const refund = s.createRefund({ final: 'FAIL', failCode: 'REFUND_WINDOW_EXCEED' });
    await until(() => received.length === 1, { message: 'the notification' });
    const first = received[0];
    if (!first?.ok) throw new Error('not verified');
    expect(first.notification).toMatchObject({ refundId: refund.refundId, refundStatus: 'FAIL', result: { resultCode: 'REFUND_WINDOW_EXCEED', resultStatus: 'F' } });
    expect(first.notification.refundTime).toBeUndefined();
    expect(classifyRefundNotification(first.notification, loadResultCodeTable())).toMatchObject({
      kind: 'failed',
      reasonCode: 'REFUND_WINDOW_EXCEED',
      // The customer still has to be refunded another way: escalated.
      escalate: true,
    });
  });

  it('a refund pending for (compressed) time becomes final and notifies without any inquiry', async () => {
    const s = await sandbox({ timeScale: 1000 });
    // 30 Antom-seconds at 1000x: 30 real ms.
    const refund = s.createRefund({ pendingMs: 30_000 });
    expect(s.seen(refund.refundId).refund?.status).toBe('PROCESSING');
    await until(() => s.seen(refund.refundId).notifications.some((n) => n.acknowledged), { message: 'acknowledged' });
    expect(s.seen(refund.refundId).refund).toMatchObject({ status: 'SUCCESS', inquiries: 0 });
  });

  it('is resent on Antom\'s schedule until acknowledged', async () => {
    answer = (n) => (n <= 3 ? { status: 500, body: 'oops' } : { status: 200, body: NOTIFY_ACK_BODY });
    const s = await sandbox();
    const refund = s.createRefund({});
    await until(() => s.seen(refund.refundId).notifications.some((n) => n.acknowledged), { message: 'acknowledged' });
    const attempts = s.seen(refund.refundId).notifications;
    expect(attempts.map((a) => [a.attempt, a.acknowledged])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, true],
    ]);
    expect(attempts[0]?.problem).toBe('HTTP 500');
    expect(s.stats().notifications).toMatchObject({ attempts: 4, acknowledged: 1, pending: 0 });
  });

  it('a 200 that is not the fixed acknowledgement does not count', async () => {
    answer = (n) => (n === 1 ? { status: 200, body: '{"ok":true}' } : { status: 200, body: NOTIFY_ACK_BODY });
    const s = await sandbox();
    const refund = s.createRefund({});
    await until(() => s.seen(refund.refundId).notifications.length === 2, { message: 'two attempts' });
    expect(s.seen(refund.refundId).notifications.map((a) => a.acknowledged)).toEqual([false, true]);
    expect(s.seen(refund.refundId).notifications[0]?.problem).toMatch(/not the fixed acknowledgement/);
  });

  it('gives up after the first attempt and 8 resends', async () => {
    answer = () => ({ status: 503, body: '' });
    const s = await sandbox();
    const refund = s.createRefund({});
    await until(() => s.stats().notifications.attempts === 1 + NOTIFY_RETRY_INTERVALS_MS.length && s.stats().notifications.pending === 0, {
      message: 'all attempts made',
    });
    expect(s.seen(refund.refundId).notifications.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('with --notify-retries none, like Antom\'s own sandbox, tries once', async () => {
    answer = () => ({ status: 500, body: '' });
    const s = await sandbox({ notifyRetries: 'none' });
    s.createRefund({});
    await until(() => s.stats().notifications.attempts === 1 && s.stats().notifications.pending === 0, { message: 'one attempt' });
  });

  it('is not sent for a refund that opted out, nor without a URL', async () => {
    const s = await sandbox({ notifyUrl: undefined });
    const quiet = s.createRefund({});
    const optedOut = (await sandbox()).createRefund({ notify: false });
    expect(s.seen(quiet.refundId).refund?.status).toBe('SUCCESS');
    expect(sandboxes[1]?.seen(optedOut.refundId).refund?.status).toBe('SUCCESS');
    // Both settled synchronously at creation; had a push been started it would be pending now.
    expect(s.stats().notifications.pending + (sandboxes[1]?.stats().notifications.pending ?? 0)).toBe(0);
  });
});

describe('admin API over HTTP', () => {
  async function call(s: AntomSandbox, method: string, path: string, body?: unknown) {
    const response = await fetch(`${s.url}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('creates refunds in bulk and reports what it saw', async () => {
    const s = await sandbox({ notifyUrl: undefined });
    const created = await call(s, 'POST', '/sandbox/refunds', {
      refunds: [{ refundId: 'adm-1', pendingInquiries: 1 }, { refundId: 'adm-2', final: 'FAIL', failCode: 'RISK_REJECT' }],
    });
    expect(created.status).toBe(201);
    expect(created.body.refunds).toMatchObject([
      { refundId: 'adm-1', status: 'PROCESSING' },
      { refundId: 'adm-2', status: 'FAIL', failCode: 'RISK_REJECT' },
    ]);
    await clientFor(s).inquireRefund({ refundId: 'adm-1' });
    const seen = await call(s, 'GET', '/sandbox/refunds/adm-1');
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ refund: { refundId: 'adm-1', inquiries: 1 }, inquiries: [{ n: 1, api: 'v2', answer: 'PROCESSING' }] });
    const stats = await call(s, 'GET', '/sandbox/stats');
    expect(stats.body).toMatchObject({ refunds: 2, inquiries: 1, answers: { PROCESSING: 1 } });
    const single = await call(s, 'POST', '/sandbox/refunds', { pendingMs: 1000 });
    expect(single.status).toBe(201);
    const info = await call(s, 'GET', '/sandbox/info');
    expect(info.body).toMatchObject({ publicKey: s.publicKey, serviceEnv: { ANTOM_BASE_URL: s.url, ANTOM_PUBLIC_KEY: s.publicKey } });
  });

  it('refuses a bad scenario with every problem and creates nothing', async () => {
    const s = await sandbox({ notifyUrl: undefined });
    const refused = await call(s, 'POST', '/sandbox/refunds', [{ refundId: 'ok-1' }, { final: 'MAYBE' }, { refundId: 'ok-1' }]);
    expect(refused.status).toBe(400);
    expect(refused.body.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^\[1\] final: /), '[2] id ok-1 already exists']));
    expect(s.stats().refunds).toBe(0);
    expect((await call(s, 'GET', '/sandbox/refunds/nothing')).status).toBe(404);
  });

  it('lists notifications, optionally for one refund', async () => {
    const s = await sandbox();
    const a = s.createRefund({});
    s.createRefund({});
    await until(() => s.stats().notifications.acknowledged === 2, { message: 'two acknowledged' });
    const all = await call(s, 'GET', '/sandbox/notifications');
    expect(all.body.notifications).toHaveLength(2);
    const one = await call(s, 'GET', `/sandbox/notifications?refundId=${a.refundId}`);
    expect(one.body.notifications).toMatchObject([{ refundId: a.refundId, acknowledged: true }]);
  });
});

describe('determinism', () => {
  it('the same seed and scenarios give the same ids and the same faults, at any concurrency', async () => {
    const scenarios = Array.from({ length: 5 }, () => ({ faults: [{ kind: 'unknown-exception' as const, probability: 0.4 }], latencyMs: [0, 3] as [number, number] }));
    const run = async (seed: number, concurrent: boolean) => {
      const s = await sandbox({ seed, notifyUrl: undefined });
      const refunds = s.createRefunds(scenarios);
      const c = clientFor(s);
      const ask = async (refundId: string) => {
        for (let i = 0; i < 8; i += 1) await c.inquireRefund({ refundId });
      };
      if (concurrent) await Promise.all(refunds.map((r) => ask(r.refundId)));
      else for (const r of refunds) await ask(r.refundId);
      return refunds.map((r) => ({
        refundId: r.refundId,
        refundRequestId: r.refundRequestId,
        paymentId: r.paymentId,
        refundAmount: r.refundAmount,
        answers: s.seen(r.refundId).inquiries.map((i) => i.answer),
      }));
    };
    const a = await run(11, false);
    const b = await run(11, true);
    const other = await run(12, false);
    expect(b).toEqual(a);
    expect(other.map((r) => r.refundId)).not.toEqual(a.map((r) => r.refundId));
    expect(a.flatMap((r) => r.answers)).toContain('unknown-exception');
  });

  it('an unknown id plays the default scenario when one is set', async () => {
    const s = await sandbox({ notifyUrl: undefined, defaultScenario: { pendingInquiries: 1 } });
    const c = clientFor(s);
    expect(await c.inquireRefund({ refundId: 'never-created' })).toMatchObject({ kind: 'answer', refundStatus: 'PENDING' });
    expect(await c.inquireRefund({ refundId: 'never-created' })).toMatchObject({ kind: 'answer', refundStatus: 'SUCCESS' });
  });
});
