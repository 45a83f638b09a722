import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../../src/adapters/antom/failures.js';
import { requestBody, resolveInquiryPath } from '../../../src/adapters/antom/flavours.js';
import { InvalidInputError } from '../../../src/domain/errors.js';

describe('resolveInquiryPath', () => {
  const base = { baseUrl: 'https://open-sea-global.alipay.com', clientId: 'CLIENT_1' };

  it.each([
    // The omnichannel API overview: https://host/openapi/v2/... (docs/antom.md).
    [{ ...base, api: 'v2' as const }, '/openapi/v2/payments/inquiryRefund'],
    [{ ...base, api: 'v1' as const }, '/ams/api/v1/payments/inquiryRefund'],
    [{ ...base, api: 'v1' as const, clientId: 'SANDBOX_5X00000000000000' }, '/ams/sandbox/api/v1/payments/inquiryRefund'],
    // v2 has no sandbox path rewrite in any SDK.
    [{ ...base, api: 'v2' as const, clientId: 'SANDBOX_5X00000000000000' }, '/openapi/v2/payments/inquiryRefund'],
    // A base URL's own path is kept as a prefix.
    [{ ...base, api: 'v2' as const, baseUrl: 'https://host.example/gateway/' }, '/gateway/openapi/v2/payments/inquiryRefund'],
    [{ ...base, api: 'v1' as const, clientId: 'SANDBOX_1', inquiryPath: '/custom/inquiry' }, '/custom/inquiry'],
  ])('%o -> %s', (settings, path) => {
    expect(resolveInquiryPath(settings)).toBe(path);
  });
});

describe('requestBody', () => {
  it('v2 sends refundId only', () => {
    expect(requestBody('v2', { refundId: 'r1' })).toEqual({ refundId: 'r1' });
  });

  it('v1 sends either id or both, and merchantAccountId', () => {
    expect(requestBody('v1', { refundRequestId: 'rr1' })).toEqual({ refundRequestId: 'rr1' });
    expect(requestBody('v1', { refundId: 'r1', refundRequestId: 'rr1', merchantAccountId: 'm1' })).toEqual({
      refundRequestId: 'rr1',
      refundId: 'r1',
      merchantAccountId: 'm1',
    });
  });

  it('serialises the fields in the order they are signed', () => {
    expect(JSON.stringify(requestBody('v1', { merchantAccountId: 'm1', refundId: 'r1', refundRequestId: 'rr1' }))).toBe(
      '{"refundRequestId":"rr1","refundId":"r1","merchantAccountId":"m1"}',
    );
    expect(JSON.stringify(requestBody('v2', { refundId: 'r1' }))).toBe('{"refundId":"r1"}');
  });

  it('lists every problem of a query, in order', () => {
    let problems: readonly string[] = [];
    try {
      requestBody('v2', { refundRequestId: 'x'.repeat(65), merchantAccountId: '' });
    } catch (err) {
      problems = (err as InvalidInputError).problems;
    }
    expect(problems).toEqual([
      'refundRequestId must be 1 to 64 characters',
      'merchantAccountId must be 1 to 32 characters',
      'the v2 inquiryRefund needs a refundId',
      'the v2 inquiryRefund takes refundId only (refundRequestId and merchantAccountId are v1 fields)',
    ]);
  });

  it.each([
    ['v2', { refundRequestId: 'rr1' }, /v2 inquiryRefund needs a refundId/],
    ['v2', { refundId: 'r1', merchantAccountId: 'm' }, /takes refundId only/],
    ['v1', {}, /needs a refundId or a refundRequestId/],
    ['v1', { refundId: 'x'.repeat(65) }, /refundId must be 1 to 64 characters/],
    ['v1', { refundId: 'r', merchantAccountId: 'm'.repeat(33) }, /merchantAccountId must be 1 to 32/],
  ] as const)('%s %o is a programmer error', (api, query, message) => {
    expect(() => requestBody(api, query)).toThrow(InvalidInputError);
    expect(() => requestBody(api, query)).toThrow(message);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-25T10:00:00Z');
  it.each([
    [undefined, undefined],
    ['7', 7000],
    [' 0 ', 0],
    ['Wed, 25 Nov 2026 10:00:30 GMT', 30_000],
    ['Wed, 25 Nov 2026 09:00:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
  ])('%s -> %s', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });
});
