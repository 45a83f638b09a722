import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAntomClient, type AntomClient, type AntomClientSettings } from '../../../src/adapters/antom/client.js';
import { generateAntomKeyPair, loadPrivateKey, type AntomKeyPair } from '../../../src/adapters/antom/keys.js';
import { signatureHeaderFor } from '../../../src/adapters/antom/signature.js';
import { loadResultCodeTable } from '../../../src/config/result-codes.js';
import { classifyInquiry } from '../../../src/domain/classify.js';
import type { InquiryOutcome } from '../../../src/domain/inquiry.js';
import { startAntomSandbox, type AntomSandbox, type Scenario } from '../../../src/simulator/sandbox.js';
import { readPrivateKey, signMessage } from '../../../src/simulator/signing.js';
import { capturedLogger, type CapturedLogger } from './support.js';

// The client against the sandbox over real HTTP: both flavours, every injected fault. The sandbox
// verifies and signs with its own code, so agreement here is agreement of two implementations.

const table = loadResultCodeTable();
let merchant: AntomKeyPair;
let sandbox: AntomSandbox;
let log: CapturedLogger;
const clients: AntomClient[] = [];

beforeAll(async () => {
  merchant = generateAntomKeyPair();
  log = capturedLogger();
  sandbox = await startAntomSandbox({ merchantPublicKey: merchant.publicKey, seed: 7 });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sandbox.close();
});

function settings(api: 'v1' | 'v2', over: Partial<AntomClientSettings> = {}): AntomClientSettings {
  return {
    baseUrl: sandbox.url,
    api,
    clientId: 'SANDBOX_5X00000000000000',
    privateKey: merchant.privateKey,
    antomPublicKey: sandbox.publicKey,
    keyVersion: '1',
    // Far above a local answer; the hang test uses its own short timeout.
    timeoutMs: 5_000,
    connections: 4,
    ...over,
  };
}

function client(api: 'v1' | 'v2', over: Partial<AntomClientSettings> = {}): AntomClient {
  const c = createAntomClient(settings(api, over), { logger: log.logger });
  clients.push(c);
  return c;
}

function refund(scenario: Scenario): string {
  return sandbox.createRefund(scenario).refundId;
}

describe('the v2 path', () => {
  it('is /openapi/v2/payments/inquiryRefund; the undocumented /v2/payments/inquiryRefund is not served', async () => {
    const refundId = refund({});
    const documented = client('v2');
    expect(documented.inquiryPath).toBe('/openapi/v2/payments/inquiryRefund');
    expect(classifyInquiry(await documented.inquireRefund({ refundId }), table)).toMatchObject({ kind: 'completed' });
    const elsewhere = await client('v2', { inquiryPath: '/v2/payments/inquiryRefund' }).inquireRefund({ refundId });
    expect(classifyInquiry(elsewhere, table)).toMatchObject({ kind: 'integration-fault', reasonCode: 'NO_INTERFACE_DEF' });
  });
});

describe.each(['v1', 'v2'] as const)('%s', (api) => {
  let c: AntomClient;
  beforeAll(() => {
    c = client(api);
  });
  const pending = api === 'v1' ? 'PROCESSING' : 'PENDING';
  const failed = api === 'v1' ? 'FAIL' : 'FAILED';
  const spelled = (code: string, v2: string) => (api === 'v1' ? code : v2);

  it('pending for two inquiries, then SUCCESS with a refundTime', async () => {
    const refundId = refund({ pendingInquiries: 2 });
    const kinds: string[] = [];
    let last: InquiryOutcome | undefined;
    for (let i = 0; i < 3; i += 1) {
      last = await c.inquireRefund({ refundId });
      kinds.push(classifyInquiry(last, table).kind);
    }
    expect(kinds).toEqual(['pending', 'pending', 'completed']);
    expect(last).toMatchObject({ kind: 'answer', signed: true, api, httpStatus: 200, refundId, refundStatus: 'SUCCESS' });
    expect((last as { refundTime?: string }).refundTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(sandbox.seen(refundId).inquiries.map((i) => i.answer)).toEqual(['PROCESSING', 'PROCESSING', 'SUCCESS']);
  });

  it(`speaks its own status vocabulary (${pending}, ${failed})`, async () => {
    const refundId = refund({ pendingInquiries: 1, final: 'FAIL', failCode: 'RISK_REJECT' });
    expect(await c.inquireRefund({ refundId })).toMatchObject({ refundStatus: pending });
    const outcome = await c.inquireRefund({ refundId });
    expect(outcome).toMatchObject({ refundStatus: failed, result: { resultCode: 'SUCCESS', resultStatus: 'S' } });
    // The inquiry succeeded; the refund failed, reason unknown to the inquiry.
    expect(classifyInquiry(outcome, table)).toMatchObject({ kind: 'failed', reasonCode: 'REFUND_FAILED', refundStatus: failed });
  });

  it('a failure reported as a result code is a failed refund with that reason', async () => {
    const refundId = refund({ final: 'FAIL', failCode: 'MERCHANT_BALANCE_NOT_ENOUGH', failureReporting: 'result-code' });
    const outcome = await c.inquireRefund({ refundId });
    expect(classifyInquiry(outcome, table)).toMatchObject({
      kind: 'failed',
      reasonCode: 'MERCHANT_BALANCE_NOT_ENOUGH',
      resultCode: spelled('MERCHANT_BALANCE_NOT_ENOUGH', 'DPOS_REFUND_MERCHANT_BALANCE_NOT_ENOUGH'),
      resultMessage: 'Merchant balance is insufficient',
      escalate: true,
    });
  });

  it('an unknown refund is not-found', async () => {
    const outcome = await c.inquireRefund({ refundId: `missing-${api}` });
    expect(classifyInquiry(outcome, table)).toMatchObject({
      kind: 'not-found',
      reasonCode: 'ORDER_NOT_EXIST',
      resultCode: spelled('ORDER_NOT_EXIST', 'DPOS_PAYMENT_ORDER_NOT_EXIST'),
    });
    expect(sandbox.seen(`missing-${api}`).inquiries).toHaveLength(1);
  });

  describe('injected faults', () => {
    it('HTTP 503 with Retry-After: a retriable transport error, one request only', async () => {
      const refundId = refund({ faults: [{ kind: 'http-error', inquiries: [1], retryAfterSeconds: 7 }] });
      const outcome = await c.inquireRefund({ refundId });
      expect(outcome).toMatchObject({ kind: 'transport-error', error: 'http-status', httpStatus: 503, retryAfterMs: 7000 });
      expect((outcome as { message: string }).message).toMatch(/HTTP 503 .*Service Unavailable/);
      expect(classifyInquiry(outcome, table)).toMatchObject({ kind: 'retry', retryAfterMs: 7000, alert: false });
      // No hidden retry of the POST: the sandbox saw exactly one inquiry.
      expect(sandbox.seen(refundId).inquiries).toHaveLength(1);
      expect(await c.inquireRefund({ refundId })).toMatchObject({ kind: 'answer', refundStatus: 'SUCCESS' });
    });

    it('HTTP 500: a transport error', async () => {
      const refundId = refund({ faults: [{ kind: 'http-error', httpStatus: 500 }] });
      expect(await c.inquireRefund({ refundId })).toMatchObject({ kind: 'transport-error', error: 'http-status', httpStatus: 500 });
    });

    it('a hang past the client timeout: a timeout, and the next inquiry works', async () => {
      const impatient = client(api, { timeoutMs: 300 });
      const refundId = refund({ faults: [{ kind: 'hang', inquiries: [1] }] });
      const outcome = await impatient.inquireRefund({ refundId });
      expect(outcome).toMatchObject({ kind: 'transport-error', error: 'timeout' });
      expect((outcome as { message: string }).message).toContain('within 300 ms');
      expect(classifyInquiry(outcome, table).kind).toBe('retry');
      expect(await impatient.inquireRefund({ refundId })).toMatchObject({ kind: 'answer', refundStatus: 'SUCCESS' });
      expect(sandbox.seen(refundId).inquiries.map((i) => i.answer)).toEqual(['hang', 'SUCCESS']);
    });

    it('a hang shorter than the timeout is just a slow answer', async () => {
      const refundId = refund({ faults: [{ kind: 'hang', hangMs: 50 }], latencyMs: [5, 20] });
      expect(await c.inquireRefund({ refundId })).toMatchObject({ kind: 'answer', refundStatus: 'SUCCESS' });
    });

    it('U UNKNOWN_EXCEPTION: retry', async () => {
      const refundId = refund({ faults: [{ kind: 'unknown-exception' }] });
      const outcome = await c.inquireRefund({ refundId });
      expect(outcome).toMatchObject({ kind: 'answer', result: { resultCode: spelled('UNKNOWN_EXCEPTION', 'DPOS_UNKNOWN_EXCEPTION'), resultStatus: 'U' } });
      expect(classifyInquiry(outcome, table)).toMatchObject({ kind: 'retry', slowDown: false, alert: false });
    });

    it('traffic limit: retry and slow the instance down', async () => {
      const refundId = refund({ faults: [{ kind: 'traffic-limit' }] });
      expect(classifyInquiry(await c.inquireRefund({ refundId }), table)).toMatchObject({ kind: 'retry', slowDown: true });
    });

    it('F ACCESS_DENIED: an integration fault', async () => {
      const refundId = refund({ faults: [{ kind: 'result-code', resultCode: 'ACCESS_DENIED' }] });
      expect(classifyInquiry(await c.inquireRefund({ refundId }), table)).toMatchObject({
        kind: 'integration-fault',
        reasonCode: 'ACCESS_DENIED',
        resultCode: spelled('ACCESS_DENIED', 'DPOS_PAYMENT_ACCESS_DENIED'),
      });
    });

    it('an unsigned SUCCESS is rejected, never a status', async () => {
      const refundId = refund({ faults: [{ kind: 'unsigned' }] });
      const outcome = await c.inquireRefund({ refundId });
      expect(outcome).toMatchObject({ kind: 'rejected', reason: 'missing-signature' });
      expect(classifyInquiry(outcome, table)).toMatchObject({ kind: 'integration-fault', reasonCode: 'RESPONSE_SIGNATURE_MISSING' });
    });

    it('an unsigned U gateway error is accepted as transient, with a warning', async () => {
      const refundId = refund({ faults: [{ kind: 'unsigned-error', resultCode: 'REQUEST_TRAFFIC_EXCEED_LIMIT' }] });
      const before = log.lines.length;
      const outcome = await c.inquireRefund({ refundId });
      expect(outcome).toMatchObject({ kind: 'unsigned-answer', signed: false, result: { resultStatus: 'U' } });
      expect(classifyInquiry(outcome, table)).toMatchObject({ kind: 'retry', slowDown: true });
      expect(log.lines.slice(before)).toContainEqual(
        expect.objectContaining({ level: 40, refundId, msg: 'unsigned gateway answer accepted as transient' }),
      );
    });

    it('an unsigned F failure code is transient, not a failed refund', async () => {
      const refundId = refund({ faults: [{ kind: 'unsigned-error', resultCode: 'RISK_REJECT', resultStatus: 'F' }] });
      expect(classifyInquiry(await c.inquireRefund({ refundId }), table)).toMatchObject({ kind: 'retry', alert: false });
    });

    it('a forged signature is rejected', async () => {
      const refundId = refund({ faults: [{ kind: 'forged-signature' }] });
      const outcome = await c.inquireRefund({ refundId });
      expect(outcome).toMatchObject({ kind: 'rejected', reason: 'bad-signature' });
      expect(classifyInquiry(outcome, table)).toMatchObject({ kind: 'integration-fault', reasonCode: 'RESPONSE_SIGNATURE_INVALID' });
    });

    it('malformed JSON (correctly signed) is a retriable transport error', async () => {
      const refundId = refund({ faults: [{ kind: 'malformed-json' }] });
      const outcome = await c.inquireRefund({ refundId });
      expect(outcome).toMatchObject({ kind: 'transport-error', error: 'malformed-json' });
      expect((outcome as { message: string }).message).toMatch(/not JSON/);
      expect(classifyInquiry(outcome, table).kind).toBe('retry');
    });

    it('probabilistic faults follow the seed', async () => {
      const refundId = refund({ faults: [{ kind: 'unknown-exception', probability: 0.5 }] });
      for (let i = 0; i < 20; i += 1) await c.inquireRefund({ refundId });
      const answers = sandbox.seen(refundId).inquiries.map((i) => i.answer);
      expect(answers.filter((a) => a === 'unknown-exception').length).toBeGreaterThan(0);
      expect(answers.filter((a) => a === 'SUCCESS').length).toBeGreaterThan(0);
    });
  });

  it('a request signed with the wrong merchant key gets Antom\'s INVALID_SIGNATURE answer', async () => {
    const stranger = client(api, { privateKey: generateAntomKeyPair().privateKey });
    const outcome = await stranger.inquireRefund({ refundId: refund({}) });
    expect(outcome).toMatchObject({ kind: 'answer', signed: true, result: { resultStatus: 'F' } });
    expect(classifyInquiry(outcome, table)).toMatchObject({ kind: 'integration-fault', reasonCode: 'INVALID_SIGNATURE' });
  });

  it('a wrong ANTOM_PUBLIC_KEY rejects every answer', async () => {
    const misconfigured = client(api, { antomPublicKey: generateAntomKeyPair().publicKey });
    expect(await misconfigured.inquireRefund({ refundId: refund({}) })).toMatchObject({ kind: 'rejected', reason: 'bad-signature' });
  });
});

describe('v1 specifics', () => {
  it('queries by refundRequestId, and refundId wins when both are given', async () => {
    const c = client('v1');
    const a = sandbox.createRefund({ refundRequestId: 'rr-by-request-id' });
    const b = sandbox.createRefund({});
    expect(await c.inquireRefund({ refundRequestId: 'rr-by-request-id' })).toMatchObject({
      kind: 'answer',
      refundId: a.refundId,
      refundRequestId: 'rr-by-request-id',
      refundAmount: a.refundAmount,
    });
    expect(await c.inquireRefund({ refundId: b.refundId, refundRequestId: 'rr-by-request-id' })).toMatchObject({ refundId: b.refundId });
  });

  it('uses the sandbox path for SANDBOX_ client ids and the production path otherwise', async () => {
    const refundId = refund({});
    await client('v1').inquireRefund({ refundId });
    await client('v1', { clientId: 'PROD_CLIENT' }).inquireRefund({ refundId });
    expect(sandbox.seen(refundId).inquiries.map((i) => [i.path, i.clientId])).toEqual([
      ['/ams/sandbox/api/v1/payments/inquiryRefund', 'SANDBOX_5X00000000000000'],
      ['/ams/api/v1/payments/inquiryRefund', 'PROD_CLIENT'],
    ]);
  });

});

describe('transport', () => {
  it('a refused connection is a retriable transport error with a clear message', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server: Server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const outcome = await client('v2', { baseUrl: `http://127.0.0.1:${closedPort}` }).inquireRefund({ refundId: 'r' });
    expect(outcome).toMatchObject({ kind: 'transport-error', error: 'refused' });
    expect((outcome as { message: string }).message).toMatch(/refused.*ANTOM_BASE_URL/);
  });

  it('keeps connections alive: 30 sequential inquiries use one connection', async () => {
    const c = client('v2', { connections: 1 });
    const refundId = refund({});
    const before = sandbox.stats().connections;
    for (let i = 0; i < 30; i += 1) await c.inquireRefund({ refundId });
    expect(sandbox.stats().connections - before).toBe(1);
  });

  it('an unknown path answers NO_INTERFACE_DEF, an integration fault', async () => {
    const outcome = await client('v2', { inquiryPath: '/v2/payments/inquireRefund' }).inquireRefund({ refundId: 'r' });
    expect(classifyInquiry(outcome, table)).toMatchObject({ kind: 'integration-fault', reasonCode: 'NO_INTERFACE_DEF' });
  });

  it('close() is idempotent', async () => {
    const c = createAntomClient(settings('v2'), { logger: log.logger });
    const first = c.close();
    expect(c.close()).toBe(first);
    await first;
  });

  it('never logs the private key', () => {
    const all = log.raw.join('');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(merchant.privateKey.slice(40, 100));
  });
});

describe('refund creation on the sandbox (a signed Antom request, not through the client)', () => {
  async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
    const text = JSON.stringify(body);
    const time = String(Date.now());
    const signature = signatureHeaderFor({
      path,
      clientId: 'SANDBOX_5X00000000000000',
      time,
      body: text,
      privateKey: loadPrivateKey(merchant.privateKey),
      keyVersion: '1',
    });
    const response = await fetch(`${sandbox.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=UTF-8', 'client-id': 'SANDBOX_5X00000000000000', 'request-time': time, signature },
      body: text,
    });
    return (await response.json()) as Record<string, unknown>;
  }

  it('creates a refund, is idempotent on refundRequestId, and refuses a changed amount', async () => {
    const body = { refundRequestId: 'rr-created-1', paymentId: 'pay-1', refundAmount: { currency: 'USD', value: '500' } };
    const first = await post('/ams/sandbox/api/v1/payments/refund', body);
    expect(first).toMatchObject({ result: { resultCode: 'SUCCESS', resultStatus: 'S' }, refundRequestId: 'rr-created-1', paymentId: 'pay-1' });
    expect(await post('/ams/sandbox/api/v1/payments/refund', body)).toMatchObject({ refundId: first.refundId });
    expect(await post('/ams/sandbox/api/v1/payments/refund', { ...body, refundAmount: { currency: 'USD', value: '501' } })).toMatchObject({
      result: { resultCode: 'REPEAT_REQ_INCONSISTENT', resultStatus: 'F' },
    });
    const outcome = await client('v1').inquireRefund({ refundRequestId: 'rr-created-1' });
    expect(outcome).toMatchObject({ kind: 'answer', refundId: first.refundId, refundStatus: 'SUCCESS' });
  });

  it('v2 refund creation answers with DPOS codes on bad input', async () => {
    expect(await post('/openapi/v2/payments/refund', { paymentId: 'p' })).toMatchObject({
      result: { resultCode: 'DPOS_PARAM_ILLEGAL', resultStatus: 'F' },
    });
  });
});

describe('answers only a broken or hostile gateway sends (a stub server)', () => {
  // The sandbox is faithful, so these come from a stub that signs with the sandbox's own signing
  // code and an openssl-independent key.
  let stub: HttpServer;
  let stubUrl: string;
  let reply: (path: string) => { body: string; headers: Record<string, string> };
  const stubKeys = generateAntomKeyPair();

  beforeAll(async () => {
    stub = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const { body, headers } = reply(req.url ?? '/');
        res.writeHead(200, { 'content-type': 'application/json', ...headers });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    stubUrl = `http://127.0.0.1:${(stub.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    stub.closeAllConnections();
    await new Promise((resolve) => stub.close(resolve));
  });

  const signed = (
    body: string,
    path: string,
    omit?: 'signature' | 'response-time',
    over: { time?: string; clientId?: string; privateKey?: string } = {},
  ) => {
    // Signed now, unless a test says otherwise: answers signed long ago are replays.
    const time = over.time ?? new Date().toISOString();
    const clientId = over.clientId ?? 'SANDBOX_5X00000000000000';
    const headers: Record<string, string> = {
      'client-id': clientId,
      'response-time': time,
      signature: signMessage(readPrivateKey(over.privateKey ?? stubKeys.privateKey), '1', path, clientId, time, Buffer.from(body)),
    };
    if (omit) delete headers[omit];
    return { body, headers };
  };
  const success = (refundId: string) =>
    JSON.stringify({ result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' }, refundId, refundStatus: 'SUCCESS' });

  it('a correctly signed answer about another refund is rejected', async () => {
    reply = (path) => signed(success('someone-else'), path);
    const outcome = await client('v2', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey }).inquireRefund({ refundId: 'mine' });
    expect(outcome).toMatchObject({ kind: 'rejected', reason: 'mismatched-refund' });
    expect(classifyInquiry(outcome, table)).toMatchObject({ kind: 'integration-fault', reasonCode: 'RESPONSE_REFUND_MISMATCH' });
  });

  it.each(['signature', 'response-time'] as const)('an answer missing only its %s header is rejected', async (omit) => {
    reply = (path) => signed(success('mine'), path, omit);
    const outcome = await client('v2', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey }).inquireRefund({ refundId: 'mine' });
    expect(outcome).toMatchObject({ kind: 'rejected', reason: 'incomplete-signature-headers' });
  });

  it('an answer signed for another client id is rejected, though its signature is good for that client', async () => {
    reply = (path) => signed(success('mine'), path, undefined, { clientId: 'SANDBOX_SOMEONE_ELSE' });
    const outcome = await client('v2', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey }).inquireRefund({ refundId: 'mine' });
    expect(outcome).toMatchObject({ kind: 'rejected', reason: 'wrong-client' });
    expect(classifyInquiry(outcome, table)).toMatchObject({ kind: 'integration-fault', reasonCode: 'RESPONSE_CLIENT_MISMATCH' });
  });

  it.each([
    ['signed ten minutes ago (a replay)', () => new Date(Date.now() - 10 * 60_000).toISOString(), /signed at .* s ago/],
    ['signed ten minutes ahead', () => new Date(Date.now() + 10 * 60_000).toISOString(), /ahead of our clock/],
    ['with an unreadable response-time', () => 'yesterday', /nobody can read/],
  ])('an answer %s is refused like a forged one', async (_name, time, message) => {
    reply = (path) => signed(success('mine'), path, undefined, { time: time() });
    const outcome = await client('v2', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey }).inquireRefund({ refundId: 'mine' });
    expect(outcome).toMatchObject({ kind: 'rejected', reason: 'stale-answer', message: expect.stringMatching(message) });
    expect(classifyInquiry(outcome, table)).toMatchObject({ kind: 'integration-fault', reasonCode: 'RESPONSE_TOO_OLD' });
  });

  it('the window is a setting, and epoch-millisecond response-times are read too', async () => {
    reply = (path) => signed(success('mine'), path, undefined, { time: String(Date.now() - 90_000) });
    expect(await client('v2', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey }).inquireRefund({ refundId: 'mine' })).toMatchObject({ kind: 'answer' });
    expect(await client('v2', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey, responseMaxAgeMs: 60_000 }).inquireRefund({ refundId: 'mine' })).toMatchObject({
      kind: 'rejected',
      reason: 'stale-answer',
    });
  });

  it('a success answer that does not name the refund asked about is rejected (v2: refundId; v1: either id)', async () => {
    const nameless = JSON.stringify({ result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' }, refundStatus: 'SUCCESS' });
    reply = (path) => signed(nameless, path);
    expect(await client('v2', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey }).inquireRefund({ refundId: 'mine' })).toMatchObject({
      kind: 'rejected',
      reason: 'unbound-answer',
    });
    expect(await client('v1', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey }).inquireRefund({ refundRequestId: 'rq-mine' })).toMatchObject({
      kind: 'rejected',
      reason: 'unbound-answer',
    });
    const byRequestId = JSON.stringify({ result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' }, refundRequestId: 'rq-mine', refundStatus: 'PROCESSING' });
    reply = (path) => signed(byRequestId, path);
    expect(await client('v1', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey }).inquireRefund({ refundRequestId: 'rq-mine' })).toMatchObject({ kind: 'answer' });
  });

  it('a v2 answer without resultCode is valid (the spec makes it optional)', async () => {
    const noCode = JSON.stringify({ result: { resultStatus: 'S', resultMessage: 'success' }, refundId: 'mine', refundStatus: 'SUCCESS', paymentId: 'p' });
    reply = (path) => signed(noCode, path);
    const outcome = await client('v2', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey }).inquireRefund({ refundId: 'mine' });
    expect(outcome).toMatchObject({ kind: 'answer', result: { resultCode: 'SUCCESS', resultStatus: 'S' } });
    expect(classifyInquiry(outcome, table)).toMatchObject({ kind: 'completed' });
  });

  it('an F result is a failure to confirm, not yet an outcome (it names no refund)', async () => {
    const risk = JSON.stringify({ result: { resultCode: 'DPOS_PAYMENT_RISK_REJECT', resultStatus: 'F', resultMessage: 'Rejected because of risk control' } });
    reply = (path) => signed(risk, path);
    const outcome = await client('v2', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey }).inquireRefund({ refundId: 'mine' });
    expect(classifyInquiry(outcome, table)).toMatchObject({ kind: 'failed', reasonCode: 'RISK_REJECT', unconfirmed: { respondedAt: expect.any(Number) } });
    // A FAILED status naming the refund is final at once.
    reply = (path) => signed(JSON.stringify({ result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' }, refundId: 'mine', refundStatus: 'FAILED', paymentId: 'p' }), path);
    const named = await client('v2', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey }).inquireRefund({ refundId: 'mine' });
    expect(classifyInquiry(named, table)).not.toHaveProperty('unconfirmed');
  });

  it('during a key rotation an answer signed with the next key verifies when ANTOM_PUBLIC_KEY_NEXT is set', async () => {
    const next = generateAntomKeyPair();
    reply = (path) => signed(success('mine'), path, undefined, { privateKey: next.privateKey });
    expect(await client('v2', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey }).inquireRefund({ refundId: 'mine' })).toMatchObject({ reason: 'bad-signature' });
    expect(
      await client('v2', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey, antomPublicKeyNext: next.publicKey }).inquireRefund({ refundId: 'mine' }),
    ).toMatchObject({ kind: 'answer', refundStatus: 'SUCCESS' });
  });

  it('a signed answer without a usable result is a malformed answer', async () => {
    reply = (path) => signed(JSON.stringify({ refundStatus: 'SUCCESS' }), path);
    const outcome = await client('v2', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey }).inquireRefund({ refundId: 'mine' });
    expect(outcome).toMatchObject({ kind: 'transport-error', error: 'malformed-answer' });
  });

  it('an oversized answer is refused, not buffered', async () => {
    reply = () => ({ body: `{"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`, headers: {} });
    const outcome = await client('v2', { baseUrl: stubUrl, antomPublicKey: stubKeys.publicKey }).inquireRefund({ refundId: 'mine' });
    expect(outcome).toMatchObject({ kind: 'transport-error', error: 'malformed-answer' });
  });
});
