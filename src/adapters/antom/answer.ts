import { z } from 'zod';
import type { AntomApi, InquiryTransportFailure } from '../../domain/inquiry.js';
import { ERROR_SNIPPET_CHARS, transportFailure } from './failures.js';

/**
 * The body of an inquiryRefund answer, read leniently where Antom's two APIs and their docs differ
 * (docs/antom.md): the fields both flavours may send, every one optional but `result`. Whether the
 * answer may be believed is verify-answer.ts's question; this file only reads it.
 */

const amountSchema = z.object({ currency: z.string(), value: z.union([z.string(), z.number()]).transform(String) });

const resultSchema = z
  .object({
    // Optional in the v2 spec (docs/antom.md): an answer without it is valid; it reads as
    // SUCCESS for an S answer and UNKNOWN otherwise.
    resultCode: z.string().min(1).optional(),
    resultStatus: z.enum(['S', 'F', 'U']),
    // Antom always sends a message; a missing one is not worth losing the answer over.
    resultMessage: z.string().optional().default(''),
  })
  .transform((r) => ({ ...r, resultCode: r.resultCode ?? (r.resultStatus === 'S' ? 'SUCCESS' : 'UNKNOWN') }));

const answerSchema = z.object({
  result: resultSchema,
  refundStatus: z.string().optional(),
  refundId: z.string().optional(),
  refundRequestId: z.string().optional(),
  paymentId: z.string().optional(),
  refundAmount: amountSchema.optional(),
  refundTime: z.string().optional(),
  grossSettlementAmount: amountSchema.optional(),
  settlementQuote: z.record(z.string(), z.unknown()).optional(),
  arn: z.string().optional(),
});

export type AntomAnswer = z.infer<typeof answerSchema>;

export type ParsedAnswer =
  | { kind: 'ok'; answer: AntomAnswer; body: unknown }
  | { kind: 'failed'; failure: InquiryTransportFailure };

/** The answer as JSON and as an answer; an unreadable one is a transport failure (try again later). */
export function parseAnswer(api: AntomApi, raw: Buffer, status: number): ParsedAnswer {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    const snippet = raw.toString('utf8', 0, ERROR_SNIPPET_CHARS);
    return { kind: 'failed', failure: transportFailure(api, 'malformed-json', `Antom's answer is not JSON: ${snippet}`, status) };
  }
  const answer = answerSchema.safeParse(body);
  if (!answer.success) {
    const problem = answer.error.issues[0];
    const where = problem ? `${problem.path.join('.') || 'body'}: ${problem.message}` : 'unreadable';
    return { kind: 'failed', failure: transportFailure(api, 'malformed-answer', `Antom's answer has no usable result (${where})`, status) };
  }
  return { kind: 'ok', answer: answer.data, body };
}
