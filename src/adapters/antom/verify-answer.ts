import type { IncomingHttpHeaders } from 'node:http';
import type { KeyObject } from 'node:crypto';
import type { AntomApi, InquiryOutcome, InquiryQuery, RejectedInquiryAnswer, RejectionReason } from '../../domain/inquiry.js';
import { parseAnswer, type AntomAnswer } from './answer.js';
import { headerValue } from './exchange.js';
import { answerNamesRefund, type InquiryRoute } from './flavours.js';
import { verifySignatureHeader } from './signature.js';

/**
 * Whether a 200 answer may be believed, and about which refund (docs/antom.md, "Signing"): it is
 * signed for our client id, with Antom's current or next public key, recently, and it is about the
 * refund we asked about. Only such an answer may move a refund to a final state; an unsigned one
 * is accepted as a transient gateway error, never as a success.
 */

export interface AnswerTrust {
  /** ANTOM_CLIENT_ID: the client an answer must be signed for. */
  readonly clientId: string;
  /** ANTOM_PUBLIC_KEY, and ANTOM_PUBLIC_KEY_NEXT during a rotation: an answer may verify with either. */
  readonly publicKeys: readonly KeyObject[];
  /** ANTOM_RESPONSE_MAX_AGE: how far the signed response-time may be from our clock, either way. */
  readonly responseMaxAgeMs: number;
  /** Epoch ms. */
  readonly now: () => number;
}

/** A 200 answer, read whole. */
export interface OkAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly raw: Buffer;
}

export function verifyAnswer(trust: AnswerTrust, route: InquiryRoute, query: InquiryQuery, reply: OkAnswer): InquiryOutcome {
  const signature = headerValue(reply.headers, 'signature');
  const responseTime = headerValue(reply.headers, 'response-time');
  if (signature !== undefined && responseTime !== undefined) {
    return signedAnswer(trust, route, query, reply, { signature, responseTime });
  }
  if (signature !== undefined || responseTime !== undefined) {
    return rejected(
      route.api,
      'incomplete-signature-headers',
      reply.status,
      `Antom's answer carries ${signature !== undefined ? 'a signature but no response-time' : 'a response-time but no signature'}; not believed`,
    );
  }
  return unsignedAnswer(route.api, reply);
}

function signedAnswer(
  trust: AnswerTrust,
  route: InquiryRoute,
  query: InquiryQuery,
  reply: OkAnswer,
  signed: { signature: string; responseTime: string },
): InquiryOutcome {
  const { api } = route;
  const checked = checkSignature(trust, route, reply, signed);
  if (checked.kind === 'rejected') return checked;
  const parsed = parseAnswer(api, reply.raw, reply.status);
  if (parsed.kind !== 'ok') return parsed.failure;
  const answer = parsed.answer;
  const mismatch = mismatchedRefund(query, answer);
  if (mismatch) return rejected(api, 'mismatched-refund', reply.status, mismatch);
  if (answer.result.resultStatus === 'S' && !answerNamesRefund(api, query, answer)) {
    const asked = query.refundId !== undefined ? `refundId ${query.refundId}` : `refundRequestId ${query.refundRequestId}`;
    return rejected(api, 'unbound-answer', reply.status, `Antom's success answer does not name the refund asked about (${asked}); not believed`);
  }
  return {
    kind: 'answer',
    signed: true,
    api,
    httpStatus: reply.status,
    result: answer.result,
    refundStatus: answer.refundStatus,
    refundId: answer.refundId,
    refundRequestId: answer.refundRequestId,
    paymentId: answer.paymentId,
    refundAmount: answer.refundAmount,
    refundTime: answer.refundTime,
    grossSettlementAmount: answer.grossSettlementAmount,
    settlementQuote: answer.settlementQuote,
    arn: answer.arn,
    respondedAt: checked.respondedAt,
    body: parsed.body,
  };
}

/** Who wrote the answer, for whom, and when: the signed response-time when all is well. */
function checkSignature(
  trust: AnswerTrust,
  route: InquiryRoute,
  reply: OkAnswer,
  signed: { signature: string; responseTime: string },
): { kind: 'signed'; respondedAt: number } | RejectedInquiryAnswer {
  const { clientId } = trust;
  const { api } = route;
  // The answer is verified as signed for OUR client id, whatever its client-id header says:
  // an answer Antom signed for another client (another merchant, or our sandbox) is not ours
  // to believe, even when its signature is good for the client it names.
  const headerClientId = headerValue(reply.headers, 'client-id');
  if (headerClientId !== undefined && headerClientId !== clientId) {
    return rejected(api, 'wrong-client', reply.status, `Antom's answer is signed for client id ${headerClientId}, not ${clientId} (ANTOM_CLIENT_ID); not believed`);
  }
  const { signature, responseTime } = signed;
  const ok = trust.publicKeys.some((publicKey) =>
    verifySignatureHeader({ header: signature, path: route.path, clientId, time: responseTime, body: reply.raw, publicKey }),
  );
  if (!ok) {
    return rejected(api, 'bad-signature', reply.status, `the signature of Antom's answer does not verify with ANTOM_PUBLIC_KEY (POST ${route.url})`);
  }
  // A signature proves who wrote an answer, not when: a captured answer replayed later
  // verifies as well as a fresh one. The signed response-time must be close to our clock.
  const respondedAt = parseResponseTime(responseTime);
  if (respondedAt === undefined) {
    return rejected(api, 'stale-answer', reply.status, `Antom's answer has a response-time nobody can read (${responseTime.slice(0, 40)}); not believed`);
  }
  const age = trust.now() - respondedAt;
  const maxAgeMs = trust.responseMaxAgeMs;
  if (Math.abs(age) > maxAgeMs) {
    return rejected(
      api,
      'stale-answer',
      reply.status,
      `Antom's answer was signed at ${new Date(respondedAt).toISOString()}, ${Math.round(Math.abs(age) / 1000)} s ${age > 0 ? 'ago' : 'ahead of our clock'} (ANTOM_RESPONSE_MAX_AGE is ${Math.round(maxAgeMs / 1000)} s); not believed`,
    );
  }
  return { kind: 'signed', respondedAt };
}

/** The gateway answers some errors itself, unsigned: transient at best, never a success. */
function unsignedAnswer(api: AntomApi, reply: OkAnswer): InquiryOutcome {
  const parsed = parseAnswer(api, reply.raw, reply.status);
  if (parsed.kind !== 'ok') return parsed.failure;
  const { result } = parsed.answer;
  if (result.resultStatus === 'S') {
    return rejected(api, 'missing-signature', reply.status, `Antom's answer says ${result.resultCode}/S but is not signed; not believed`);
  }
  return {
    kind: 'unsigned-answer',
    signed: false,
    api,
    httpStatus: reply.status,
    result: { ...result, resultStatus: result.resultStatus },
    body: parsed.body,
  };
}

function rejected(api: AntomApi, reason: RejectionReason, httpStatus: number, message: string): RejectedInquiryAnswer {
  return { kind: 'rejected', api, httpStatus, reason, message };
}

/** An answer about another refund than the one asked about is never applied to this one. */
function mismatchedRefund(query: InquiryQuery, answer: AntomAnswer): string | undefined {
  if (query.refundId !== undefined && answer.refundId !== undefined && answer.refundId !== query.refundId) {
    return `asked about refundId ${query.refundId}, Antom answered about ${answer.refundId}`;
  }
  if (
    query.refundId === undefined &&
    query.refundRequestId !== undefined &&
    answer.refundRequestId !== undefined &&
    answer.refundRequestId !== query.refundRequestId
  ) {
    return `asked about refundRequestId ${query.refundRequestId}, Antom answered about ${answer.refundRequestId}`;
  }
  return undefined;
}

/**
 * The signed response-time: epoch milliseconds as digits (Java and Go SDKs) or ISO 8601 with an
 * offset (the Python SDK, and what the docs show). Undefined for anything else.
 */
function parseResponseTime(value: string): number | undefined {
  const text = value.trim();
  if (/^\d{10,16}$/.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
