import { describe, expect, it } from 'vitest';
import type { IncomingHttpHeaders } from 'node:http';
import { generateAntomKeyPair, loadPrivateKey, loadPublicKey } from '../../../src/adapters/antom/keys.js';
import { inquiryRoute } from '../../../src/adapters/antom/flavours.js';
import { signatureHeaderFor } from '../../../src/adapters/antom/signature.js';
import { verifyAnswer, type AnswerTrust } from '../../../src/adapters/antom/verify-answer.js';
import type { AntomApi, InquiryQuery } from '../../../src/domain/inquiry.js';

// The checks that make an inquiry answer believable, without a server: each way an answer can be
// refused, and the answer that is believed. The sandbox tests prove the same over HTTP.

const CLIENT_ID = 'SANDBOX_5X00000000000000';
const NOW = Date.parse('2026-11-25T10:00:00Z');
const antom = generateAntomKeyPair();
const next = generateAntomKeyPair();
const trust: AnswerTrust = { clientId: CLIENT_ID, publicKeys: [loadPublicKey(antom.publicKey)], responseMaxAgeMs: 300_000, now: () => NOW };
const settings = { baseUrl: 'https://open-sea-global.alipay.com', api: 'v1' as const, clientId: CLIENT_ID };

const success = {
  result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' },
  refundStatus: 'SUCCESS',
  refundId: 'r-1',
  refundRequestId: 'rr-1',
  refundAmount: { currency: 'USD', value: 1250 },
};

function reply(
  api: AntomApi,
  body: unknown,
  options: { time?: string; key?: string; signedFor?: string; clientHeader?: string; omit?: 'signature' | 'response-time' } = {},
) {
  const raw = Buffer.from(JSON.stringify(body), 'utf8');
  const route = inquiryRoute(settings, api);
  const time = options.time ?? String(NOW - 1_000);
  const headers: IncomingHttpHeaders = {
    'response-time': time,
    signature: signatureHeaderFor({
      path: route.path,
      clientId: options.signedFor ?? CLIENT_ID,
      time,
      body: raw,
      privateKey: loadPrivateKey(options.key ?? antom.privateKey),
      keyVersion: '1',
    }),
  };
  if (options.clientHeader !== undefined) headers['client-id'] = options.clientHeader;
  if (options.omit) delete headers[options.omit];
  return { route, reply: { status: 200, headers, raw } };
}

function verify(api: AntomApi, query: InquiryQuery, body: unknown, options: Parameters<typeof reply>[2] = {}, using: AnswerTrust = trust) {
  const r = reply(api, body, options);
  return verifyAnswer(using, r.route, query, r.reply);
}

describe('verifyAnswer', () => {
  it('believes a signed answer about the refund asked about, with its fields as sent', () => {
    expect(verify('v1', { refundId: 'r-1' }, success)).toEqual({
      kind: 'answer',
      signed: true,
      api: 'v1',
      httpStatus: 200,
      result: success.result,
      refundStatus: 'SUCCESS',
      refundId: 'r-1',
      refundRequestId: 'rr-1',
      refundAmount: { currency: 'USD', value: '1250' },
      respondedAt: NOW - 1_000,
      body: success,
    });
  });

  it('verifies with the next key during a rotation', () => {
    const both = { ...trust, publicKeys: [loadPublicKey(antom.publicKey), loadPublicKey(next.publicKey)] };
    expect(verify('v1', { refundId: 'r-1' }, success, { key: next.privateKey }, both).kind).toBe('answer');
  });

  it.each([
    ['another key', { key: next.privateKey }, 'bad-signature'],
    ['signed for another client', { signedFor: 'SANDBOX_OTHER' }, 'bad-signature'],
    ['naming another client', { clientHeader: 'SANDBOX_OTHER' }, 'wrong-client'],
    ['signed too long ago', { time: String(NOW - 301_000) }, 'stale-answer'],
    ['signed ahead of our clock', { time: String(NOW + 301_000) }, 'stale-answer'],
    ['with an unreadable response-time', { time: 'yesterday' }, 'stale-answer'],
    ['without a response-time', { omit: 'response-time' as const }, 'incomplete-signature-headers'],
    ['without a signature', { omit: 'signature' as const }, 'incomplete-signature-headers'],
  ])('refuses an answer %s', (_, options, reason) => {
    expect(verify('v1', { refundId: 'r-1' }, success, options)).toMatchObject({ kind: 'rejected', api: 'v1', httpStatus: 200, reason });
  });

  it('reads an ISO 8601 response-time', () => {
    expect(verify('v1', { refundId: 'r-1' }, success, { time: '2026-11-25T09:59:59+00:00' })).toMatchObject({ kind: 'answer', respondedAt: NOW - 1_000 });
  });

  it('refuses an answer about another refund', () => {
    expect(verify('v1', { refundId: 'r-2' }, success)).toMatchObject({ reason: 'mismatched-refund', message: 'asked about refundId r-2, Antom answered about r-1' });
    expect(verify('v1', { refundRequestId: 'rr-2' }, success)).toMatchObject({ reason: 'mismatched-refund' });
  });

  it('refuses a success answer that names no refund we asked with; v1 may name it by refundRequestId, v2 only by refundId', () => {
    const { refundId: _, ...byRequestId } = success;
    expect(verify('v1', { refundRequestId: 'rr-1' }, byRequestId).kind).toBe('answer');
    expect(verify('v2', { refundId: 'r-1' }, byRequestId)).toMatchObject({ reason: 'unbound-answer' });
    const { refundRequestId: __, ...named } = byRequestId;
    expect(verify('v1', { refundId: 'r-1' }, named)).toMatchObject({
      reason: 'unbound-answer',
      message: "Antom's success answer does not name the refund asked about (refundId r-1); not believed",
    });
    // A failed inquiry carries no refund state, so it need not name one.
    const failed = { result: { resultCode: 'REFUND_NOT_EXIST', resultStatus: 'F', resultMessage: 'no such refund' } };
    expect(verify('v2', { refundId: 'r-1' }, failed).kind).toBe('answer');
  });

  it('accepts an unsigned gateway error as transient, never an unsigned success', () => {
    const route = inquiryRoute(settings, 'v2');
    const unsigned = (body: unknown) => verifyAnswer(trust, route, { refundId: 'r-1' }, { status: 200, headers: {}, raw: Buffer.from(JSON.stringify(body)) });
    expect(unsigned({ result: { resultStatus: 'U', resultCode: 'UNKNOWN_EXCEPTION' } })).toEqual({
      kind: 'unsigned-answer',
      signed: false,
      api: 'v2',
      httpStatus: 200,
      result: { resultCode: 'UNKNOWN_EXCEPTION', resultStatus: 'U', resultMessage: '' },
      body: { result: { resultStatus: 'U', resultCode: 'UNKNOWN_EXCEPTION' } },
    });
    expect(unsigned(success)).toMatchObject({ kind: 'rejected', reason: 'missing-signature' });
  });

  it('treats a signed answer that is not JSON, or has no result, as a transport failure', () => {
    expect(verify('v1', { refundId: 'r-1' }, { refundStatus: 'SUCCESS' })).toMatchObject({ kind: 'transport-error', error: 'malformed-answer', httpStatus: 200 });
    const route = inquiryRoute(settings, 'v1');
    const raw = Buffer.from('<html>gateway</html>');
    expect(verifyAnswer(trust, route, { refundId: 'r-1' }, { status: 200, headers: {}, raw })).toMatchObject({
      kind: 'transport-error',
      error: 'malformed-json',
      message: "Antom's answer is not JSON: <html>gateway</html>",
    });
  });
});
