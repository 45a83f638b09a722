import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPublicKey } from '../../../src/adapters/antom/keys.js';
import { NOTIFY_ACK_BODY, verifyNotifyRequest } from '../../../src/adapters/antom/notify.js';
import { opensslKeys, opensslSign, specContent, type OpensslKeys } from './openssl.js';

// Antom signs notifyRefund like a request to the merchant's notify path (docs/antom.md,
// "notifyRefund"); here openssl plays Antom.

const PATH = '/antom/notify/refund';
const CLIENT_ID = 'SANDBOX_5X00000000000000';
const TIME = '2026-11-25T10:00:00Z';
const BODY = JSON.stringify({
  notifyType: 'REFUND_RESULT',
  result: { resultCode: 'REFUND_WINDOW_EXCEED', resultStatus: 'F', resultMessage: 'Refund date exceeds the refundable period' },
  refundStatus: 'FAIL',
  refundRequestId: 'rr-1',
  refundId: '2026000111',
  refundAmount: { currency: 'EUR', value: '1250' },
  metadata: '{"orderId":"ö-1"}',
});

let antom: OpensslKeys;
let headers: Record<string, string>;
beforeAll(() => {
  antom = opensslKeys();
  headers = {
    'client-id': CLIENT_ID,
    'request-time': TIME,
    signature: `algorithm=RSA256,keyVersion=1,signature=${encodeURIComponent(opensslSign(antom, specContent(PATH, CLIENT_ID, TIME, BODY)))}`,
  };
});
afterAll(() => antom.cleanup());

describe('verifyNotifyRequest', () => {
  it('accepts a notification signed by Antom and parses it', () => {
    const result = verifyNotifyRequest({ path: PATH, headers, rawBody: Buffer.from(BODY, 'utf8'), antomPublicKey: antom.publicDerBase64 });
    expect(result).toEqual({
      ok: true,
      notification: {
        notifyType: 'REFUND_RESULT',
        result: { resultCode: 'REFUND_WINDOW_EXCEED', resultStatus: 'F', resultMessage: 'Refund date exceeds the refundable period' },
        refundStatus: 'FAIL',
        refundRequestId: 'rr-1',
        refundId: '2026000111',
        refundAmount: { currency: 'EUR', value: '1250' },
        metadata: '{"orderId":"ö-1"}',
        clientId: CLIENT_ID,
        requestTime: TIME,
      },
    });
  });

  it('reads headers in any case and takes a KeyObject', () => {
    const upper = { 'Client-Id': CLIENT_ID, 'Request-Time': TIME, Signature: headers.signature };
    expect(verifyNotifyRequest({ path: PATH, headers: upper, rawBody: BODY, antomPublicKey: loadPublicKey(antom.publicPem) }).ok).toBe(true);
  });

  it.each([
    ['another path', () => ({ path: '/other' })],
    ['an altered body', () => ({ rawBody: BODY.replace('1250', '9999') })],
    ['another request-time', () => ({ headers: { ...headers, 'request-time': '2026-11-25T10:00:01Z' } })],
    ['another client id', () => ({ headers: { ...headers, 'client-id': 'SANDBOX_OTHER' } })],
  ])('refuses %s', (_name, over: () => Partial<Parameters<typeof verifyNotifyRequest>[0]>) => {
    const input = { path: PATH, headers, rawBody: BODY, antomPublicKey: antom.publicDerBase64, ...over() };
    expect(verifyNotifyRequest(input)).toEqual({ ok: false, status: 401, reason: 'signature does not verify with ANTOM_PUBLIC_KEY' });
  });

  it('refuses missing headers, naming them', () => {
    expect(verifyNotifyRequest({ path: PATH, headers: { 'client-id': CLIENT_ID }, rawBody: BODY, antomPublicKey: antom.publicDerBase64 })).toEqual({
      ok: false,
      status: 401,
      reason: 'missing headers signature, request-time',
    });
  });

  it('refuses another client id when ours is given', () => {
    const result = verifyNotifyRequest({ path: PATH, headers, rawBody: BODY, antomPublicKey: antom.publicDerBase64, clientId: 'SANDBOX_OTHER' });
    expect(result).toEqual({ ok: false, status: 401, reason: `notification for client id ${CLIENT_ID}, expected SANDBOX_OTHER` });
  });

  it('refuses a signed body that is not a refund notification', () => {
    const body = JSON.stringify({ notifyType: 'PAYMENT_RESULT', result: { resultCode: 'SUCCESS', resultStatus: 'S' } });
    const signed = { ...headers, signature: `algorithm=RSA256,keyVersion=1,signature=${encodeURIComponent(opensslSign(antom, specContent(PATH, CLIENT_ID, TIME, body)))}` };
    const result = verifyNotifyRequest({ path: PATH, headers: signed, rawBody: body, antomPublicKey: antom.publicDerBase64 });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/^not a refund notification: notifyType/);
    // Antom's, but unreadable: 400 with the reason, not 401 "bad signature".
    expect(!result.ok && result.status).toBe(400);
  });

  const signedBody = (body: string) => ({
    ...headers,
    signature: `algorithm=RSA256,keyVersion=1,signature=${encodeURIComponent(opensslSign(antom, specContent(PATH, CLIENT_ID, TIME, body)))}`,
  });

  it('accepts FAILED and a notification without refundRequestId (as v2 may send them)', () => {
    const body = JSON.stringify({
      notifyType: 'REFUND_RESULT',
      result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' },
      refundStatus: 'FAILED',
      refundId: '2026000222',
      refundAmount: { currency: 'USD', value: '100' },
    });
    const result = verifyNotifyRequest({ path: PATH, headers: signedBody(body), rawBody: body, antomPublicKey: antom.publicDerBase64 });
    expect(result).toMatchObject({ ok: true, notification: { refundStatus: 'FAILED', refundId: '2026000222' } });
    expect(result.ok && result.notification.refundRequestId).toBeUndefined();
  });

  it('verifies with either key during a rotation', () => {
    const other = opensslKeys();
    try {
      const keys = [other.publicDerBase64, antom.publicDerBase64];
      expect(verifyNotifyRequest({ path: PATH, headers, rawBody: BODY, antomPublicKey: keys }).ok).toBe(true);
      expect(verifyNotifyRequest({ path: PATH, headers, rawBody: BODY, antomPublicKey: [other.publicDerBase64] })).toMatchObject({ ok: false, status: 401 });
    } finally {
      other.cleanup();
    }
  });

  it('the acknowledgement is Antom\'s fixed body', () => {
    expect(JSON.parse(NOTIFY_ACK_BODY)).toEqual({ result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' } });
  });
});
