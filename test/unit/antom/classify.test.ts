import { describe, expect, it } from 'vitest';
import { loadResultCodeTable } from '../../../src/config/result-codes.js';
import { classifyInquiry, classifyRefundNotification, type Classification } from '../../../src/domain/classify.js';
import type { AntomApi, InquiryOutcome, RefundNotification, ResultStatus } from '../../../src/domain/inquiry.js';
import { createResultCodeTable, normaliseResultCode } from '../../../src/domain/result-codes.js';

const table = loadResultCodeTable();

function answer(
  result: { resultCode: string; resultStatus: ResultStatus; resultMessage?: string },
  fields: Partial<Extract<InquiryOutcome, { kind: 'answer' }>> = {},
  api: AntomApi = 'v1',
): InquiryOutcome {
  return {
    kind: 'answer',
    signed: true,
    api,
    httpStatus: 200,
    result: { resultMessage: 'message as sent', ...result },
    respondedAt: 1_700_000_000_000,
    body: {},
    ...fields,
  };
}

function statusAnswer(refundStatus: string | undefined, api: AntomApi = 'v1'): InquiryOutcome {
  return answer(
    { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' },
    {
      ...(refundStatus === undefined ? {} : { refundStatus }),
      refundId: '2026001',
      ...(refundStatus === 'SUCCESS' ? { refundTime: '2026-11-25T10:00:00+08:00' } : {}),
    },
    api,
  );
}

/**
 * Every code docs/antom.md, "Result codes" lists, with the status given there and what we expect
 * it to mean. Written here independently of config/result-codes.yaml, so a wrong edit of the table
 * fails a test. `v2` lists the spellings a v2 gateway may send: for rows 13–20 the spec does not
 * know the prefix, so all three are tried.
 */
const ALL_PREFIXES = (code: string) => [`DPOS_${code}`, `DPOS_PAYMENT_${code}`, `DPOS_REFUND_${code}`];
type Expect = 'failed' | 'retry' | 'integration-fault' | 'not-found';
const SPEC_CODES: ReadonlyArray<{ code: string; status: 'F' | 'U'; expect: Expect; escalate?: boolean; slowDown?: boolean; v2: string[] }> = [
  { code: 'ACCESS_DENIED', status: 'F', expect: 'integration-fault', v2: ['DPOS_PAYMENT_ACCESS_DENIED'] },
  { code: 'CURRENCY_NOT_SUPPORT', status: 'F', expect: 'failed', escalate: true, v2: ['DPOS_PAYMENT_CURRENCY_NOT_SUPPORT'] },
  { code: 'INVALID_MERCHANT_STATUS', status: 'F', expect: 'integration-fault', v2: ['DPOS_PAYMENT_INVALID_MERCHANT_STATUS'] },
  { code: 'ORDER_NOT_EXIST', status: 'F', expect: 'not-found', v2: ['DPOS_PAYMENT_ORDER_NOT_EXIST'] },
  // On an inquiry it describes the inquiry, not the refund: the refund stays pending.
  { code: 'ORDER_STATUS_INVALID', status: 'F', expect: 'integration-fault', v2: ['DPOS_PAYMENT_ORDER_STATUS_INVALID'] },
  { code: 'REPEAT_REQ_INCONSISTENT', status: 'F', expect: 'failed', escalate: true, v2: ['DPOS_PAYMENT_REPEAT_REQ_INCONSISTENT'] },
  { code: 'RISK_REJECT', status: 'F', expect: 'failed', escalate: true, v2: ['DPOS_PAYMENT_RISK_REJECT'] },
  { code: 'ORDER_IS_CANCELED', status: 'F', expect: 'failed', escalate: false, v2: ['DPOS_PAYMENT_ORDER_IS_CANCELED'] },
  { code: 'ORDER_IS_CLOSED', status: 'F', expect: 'failed', escalate: false, v2: ['DPOS_PAYMENT_ORDER_IS_CLOSED'] },
  // The v2 page prints it with a stray space.
  { code: 'SYSTEM_ERROR', status: 'F', expect: 'integration-fault', v2: ['DPOS_SYSTEM_ERROR', 'DPOS_SYSTEM_ ERROR'] },
  { code: 'KEY_NOT_FOUND', status: 'F', expect: 'integration-fault', v2: ['DPOS_REFUND_KEY_NOT_FOUND'] },
  { code: 'MERCHANT_BALANCE_NOT_ENOUGH', status: 'F', expect: 'failed', escalate: true, v2: ALL_PREFIXES('MERCHANT_BALANCE_NOT_ENOUGH') },
  // The customer has to be refunded another way: escalated.
  { code: 'MULTIPLE_REFUNDS_NOT_SUPPORTED', status: 'F', expect: 'failed', escalate: true, v2: ALL_PREFIXES('MULTIPLE_REFUNDS_NOT_SUPPORTED') },
  { code: 'NO_INTERFACE_DEF', status: 'F', expect: 'integration-fault', v2: ALL_PREFIXES('NO_INTERFACE_DEF') },
  { code: 'API_INVALID', status: 'F', expect: 'integration-fault', v2: ALL_PREFIXES('API_INVALID') },
  { code: 'PROCESS_FAIL', status: 'F', expect: 'integration-fault', v2: ALL_PREFIXES('PROCESS_FAIL') },
  { code: 'REFUND_AMOUNT_EXCEED', status: 'F', expect: 'failed', escalate: true, v2: ALL_PREFIXES('REFUND_AMOUNT_EXCEED') },
  { code: 'REFUND_WINDOW_EXCEED', status: 'F', expect: 'failed', escalate: true, v2: ALL_PREFIXES('REFUND_WINDOW_EXCEED') },
  { code: 'REQUEST_TRAFFIC_EXCEED_LIMIT', status: 'U', expect: 'retry', slowDown: true, v2: ALL_PREFIXES('REQUEST_TRAFFIC_EXCEED_LIMIT') },
  { code: 'UNKNOWN_EXCEPTION', status: 'U', expect: 'retry', slowDown: false, v2: ALL_PREFIXES('UNKNOWN_EXCEPTION') },
  // Generic gateway codes (docs/antom.md, "Result codes").
  { code: 'PARAM_ILLEGAL', status: 'F', expect: 'integration-fault', v2: [] },
  { code: 'INVALID_ACCESS_TOKEN', status: 'F', expect: 'integration-fault', v2: [] },
  { code: 'INVALID_SIGNATURE', status: 'F', expect: 'integration-fault', v2: [] },
  { code: 'CLIENT_INVALID', status: 'F', expect: 'integration-fault', v2: [] },
  { code: 'INVALID_CLIENT_STATUS', status: 'F', expect: 'integration-fault', v2: [] },
  { code: 'METHOD_NOT_SUPPORTED', status: 'F', expect: 'integration-fault', v2: [] },
  { code: 'MEDIA_TYPE_NOT_ACCEPTABLE', status: 'F', expect: 'integration-fault', v2: [] },
  { code: 'PAYMENT_IN_PROCESS', status: 'U', expect: 'retry', slowDown: false, v2: [] },
];

describe('every code in the spec', () => {
  for (const spec of SPEC_CODES) {
    for (const [api, sent] of [['v1', spec.code], ...spec.v2.map((c) => ['v2', c])] as Array<[AntomApi, string]>) {
      it(`${sent} (${spec.status}, ${api}) -> ${spec.expect}`, () => {
        const c = classifyInquiry(answer({ resultCode: sent, resultStatus: spec.status }, {}, api), table);
        expect(c.kind).toBe(spec.expect);
        switch (c.kind) {
          case 'failed':
            expect(c).toMatchObject({ reasonCode: spec.code, resultCode: sent, resultMessage: 'message as sent', escalate: spec.escalate });
            expect(c.playbook).toMatch(/\w/);
            break;
          case 'integration-fault':
            expect(c).toMatchObject({ reasonCode: spec.code, resultCode: sent, resultMessage: 'message as sent' });
            expect(c.playbook).toMatch(/\w/);
            break;
          case 'not-found':
            expect(c).toMatchObject({ reasonCode: spec.code, resultCode: sent });
            break;
          case 'retry':
            expect(c).toMatchObject({ slowDown: spec.slowDown, alert: false, resultCode: sent });
            break;
          default:
            throw new Error(`unexpected ${c.kind}`);
        }
      });
    }
  }

  it('the shipped table has a rule for every spec code and no code the spec does not list', () => {
    const specCodes = new Set(SPEC_CODES.map((s) => s.code));
    const shipped = new Set([...table.rules.keys()].filter((code) => code !== 'REFUND_FAILED'));
    expect([...specCodes].filter((c) => !shipped.has(c))).toEqual([]);
    expect([...shipped].filter((c) => !specCodes.has(c))).toEqual([]);
  });

  it('a traffic limit sent as F (its status is unverified) is still a slowing retry', () => {
    expect(classifyInquiry(answer({ resultCode: 'REQUEST_TRAFFIC_EXCEED_LIMIT', resultStatus: 'F' }), table)).toMatchObject({
      kind: 'retry',
      slowDown: true,
      alert: false,
    });
  });

  it('a U answer is retried even when its code names a refund failure', () => {
    expect(classifyInquiry(answer({ resultCode: 'RISK_REJECT', resultStatus: 'U' }), table)).toMatchObject({ kind: 'retry', alert: false });
  });
});

describe('refund status on a successful inquiry', () => {
  it.each([
    ['v1', 'SUCCESS', 'completed'],
    ['v1', 'PROCESSING', 'pending'],
    ['v1', 'FAIL', 'failed'],
    ['v2', 'SUCCESS', 'completed'],
    ['v2', 'PENDING', 'pending'],
    ['v2', 'FAILED', 'failed'],
  ] as const)('%s %s -> %s', (api, status, kind) => {
    expect(classifyInquiry(statusAnswer(status, api), table).kind).toBe(kind);
  });

  it('completed carries refundTime and the result as sent', () => {
    expect(classifyInquiry(statusAnswer('SUCCESS'), table)).toEqual({
      kind: 'completed',
      refundStatus: 'SUCCESS',
      resultCode: 'SUCCESS',
      resultMessage: 'success',
      refundTime: '2026-11-25T10:00:00+08:00',
      refundId: '2026001',
    });
  });

  it('an inquiry that succeeds about a refund that failed is a failed refund, escalated for lack of a reason', () => {
    expect(classifyInquiry(statusAnswer('FAILED', 'v2'), table)).toMatchObject({
      kind: 'failed',
      reasonCode: 'REFUND_FAILED',
      resultCode: 'SUCCESS',
      resultMessage: 'success',
      refundStatus: 'FAILED',
      escalate: true,
    });
  });

  it.each([['CANCELLED'], [undefined]])('an unknown refund status (%s) is retried with an alert, never an outcome', (status) => {
    expect(classifyInquiry(statusAnswer(status), table)).toMatchObject({ kind: 'retry', alert: true, slowDown: false });
  });
});

describe('unknown codes', () => {
  it.each(['F', 'U'] as const)('an unknown %s code is retried with one alert naming the code', (status) => {
    const c = classifyInquiry(answer({ resultCode: 'DPOS_REFUND_SOMETHING_NEW', resultStatus: status }, {}, 'v2'), table);
    expect(c).toMatchObject({ kind: 'retry', alert: true, slowDown: false, unknownCode: 'SOMETHING_NEW', resultCode: 'DPOS_REFUND_SOMETHING_NEW' });
  });

  it('an operator rule makes an unknown code known', () => {
    const extended = createResultCodeTable([
      ...table.rules,
      ['SOMETHING_NEW', { outcome: 'failed', escalate: false, slowDown: false, playbook: 'call Bob' }],
    ]);
    expect(classifyInquiry(answer({ resultCode: 'DPOS_SOMETHING_NEW', resultStatus: 'F' }), extended)).toMatchObject({
      kind: 'failed',
      reasonCode: 'SOMETHING_NEW',
      escalate: false,
      playbook: 'call Bob',
    });
  });
});

describe('answers that are not believed', () => {
  it.each([
    ['bad-signature', 'RESPONSE_SIGNATURE_INVALID'],
    ['missing-signature', 'RESPONSE_SIGNATURE_MISSING'],
    ['incomplete-signature-headers', 'RESPONSE_SIGNATURE_MISSING'],
    ['mismatched-refund', 'RESPONSE_REFUND_MISMATCH'],
  ] as const)('a %s answer is an integration fault, never a status', (reason, code) => {
    const c = classifyInquiry({ kind: 'rejected', api: 'v1', httpStatus: 200, reason, message: 'why' }, table);
    expect(c).toMatchObject({ kind: 'integration-fault', reasonCode: code, message: 'why' });
  });

  const unsigned = (resultCode: string, resultStatus: 'F' | 'U'): InquiryOutcome => ({
    kind: 'unsigned-answer',
    signed: false,
    api: 'v1',
    httpStatus: 200,
    result: { resultCode, resultStatus, resultMessage: 'gateway says' },
    body: {},
  });

  it('an unsigned failure code is transient: no refund outcome from an unsigned answer', () => {
    for (const code of ['RISK_REJECT', 'ORDER_NOT_EXIST', 'MERCHANT_BALANCE_NOT_ENOUGH']) {
      expect(classifyInquiry(unsigned(code, 'F'), table)).toMatchObject({ kind: 'retry', alert: false });
    }
  });

  it('an unsigned traffic limit slows down; an unsigned unknown code alerts', () => {
    expect(classifyInquiry(unsigned('REQUEST_TRAFFIC_EXCEED_LIMIT', 'U'), table)).toMatchObject({ kind: 'retry', slowDown: true });
    expect(classifyInquiry(unsigned('WHAT_IS_THIS', 'F'), table)).toMatchObject({ kind: 'retry', alert: true, unknownCode: 'WHAT_IS_THIS' });
  });

  it('an unsigned F that blames our integration surfaces as an integration fault (still not an outcome)', () => {
    expect(classifyInquiry(unsigned('INVALID_SIGNATURE', 'F'), table)).toMatchObject({
      kind: 'integration-fault',
      reasonCode: 'INVALID_SIGNATURE',
      resultCode: 'INVALID_SIGNATURE',
    });
  });
});

describe('transport errors', () => {
  it('are retried without an alert, with Retry-After carried', () => {
    expect(
      classifyInquiry({ kind: 'transport-error', api: 'v2', error: 'http-status', httpStatus: 503, message: 'HTTP 503', retryAfterMs: 7000 }, table),
    ).toEqual({ kind: 'retry', reason: 'HTTP 503', slowDown: false, alert: false, retryAfterMs: 7000 });
    for (const error of ['timeout', 'refused', 'network', 'malformed-json', 'malformed-answer'] as const) {
      expect(classifyInquiry({ kind: 'transport-error', api: 'v1', error, message: error }, table)).toMatchObject({
        kind: 'retry',
        alert: false,
        slowDown: false,
      });
    }
  });

  it('an HTTP 429 slows the whole instance down', () => {
    expect(classifyInquiry({ kind: 'transport-error', api: 'v1', error: 'http-status', httpStatus: 429, message: 'HTTP 429' }, table)).toMatchObject({
      kind: 'retry',
      slowDown: true,
    });
  });
});

describe('notifications', () => {
  const notification = (over: Partial<RefundNotification>): RefundNotification => ({
    notifyType: 'REFUND_RESULT',
    result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' },
    refundStatus: 'SUCCESS',
    refundRequestId: 'rr-1',
    refundId: '2026001',
    refundAmount: { currency: 'USD', value: '1250' },
    refundTime: '2026-11-25T10:00:00Z',
    clientId: 'SANDBOX_X',
    requestTime: '2026-11-25T10:00:01Z',
    ...over,
  });

  it('SUCCESS is completed', () => {
    expect(classifyRefundNotification(notification({}), table)).toMatchObject({
      kind: 'completed',
      refundTime: '2026-11-25T10:00:00Z',
      refundAmount: { currency: 'USD', value: '1250' },
    });
  });

  it('FAIL is failed with the notification code as the reason and the table escalation', () => {
    const c: Classification = classifyRefundNotification(
      notification({ refundStatus: 'FAIL', result: { resultCode: 'REFUND_WINDOW_EXCEED', resultStatus: 'F', resultMessage: 'too late' } }),
      table,
    );
    expect(c).toMatchObject({ kind: 'failed', reasonCode: 'REFUND_WINDOW_EXCEED', resultMessage: 'too late', escalate: true });
  });

  it('FAIL with a code the table does not call a failure is still failed, and escalated', () => {
    expect(
      classifyRefundNotification(
        notification({ refundStatus: 'FAIL', result: { resultCode: 'ACCESS_DENIED', resultStatus: 'F', resultMessage: 'no' } }),
        table,
      ),
    ).toMatchObject({ kind: 'failed', reasonCode: 'ACCESS_DENIED', escalate: true });
  });
});

describe('normaliseResultCode', () => {
  it.each([
    ['DPOS_PAYMENT_RISK_REJECT', 'RISK_REJECT'],
    ['DPOS_REFUND_MERCHANT_BALANCE_NOT_ENOUGH', 'MERCHANT_BALANCE_NOT_ENOUGH'],
    ['DPOS_REFUND_REFUND_WINDOW_EXCEED', 'REFUND_WINDOW_EXCEED'],
    ['DPOS_SYSTEM_ ERROR', 'SYSTEM_ERROR'],
    ['DPOS_UNKNOWN_EXCEPTION', 'UNKNOWN_EXCEPTION'],
    ['risk_reject', 'RISK_REJECT'],
    ['SUCCESS', 'SUCCESS'],
    ['DPOS_', 'DPOS_'],
  ])('%s -> %s', (code, expected) => {
    expect(normaliseResultCode(code)).toBe(expected);
  });
});
