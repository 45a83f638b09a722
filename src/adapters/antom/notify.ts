import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { RefundNotification } from '../../domain/inquiry.js';
import { loadPublicKey } from './keys.js';
import { verifySignatureHeader } from './signature.js';

export type { RefundNotification } from '../../domain/inquiry.js';

/**
 * The fixed acknowledgement Antom waits for (docs/antom.md, "notifyRefund"); anything else makes
 * it resend. The merchant does not sign it.
 */
export const NOTIFY_ACK_BODY = '{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}';

const amountSchema = z.object({ currency: z.string().min(1), value: z.union([z.string(), z.number()]).transform(String) });

const notificationSchema = z.object({
  notifyType: z.literal('REFUND_RESULT'),
  result: z.object({
    resultCode: z.string().min(1),
    resultStatus: z.enum(['S', 'F', 'U']),
    resultMessage: z.string().optional().default(''),
  }),
  // v1 sends FAIL; a v2 notification may spell it FAILED, as v2 inquiries do.
  refundStatus: z.enum(['SUCCESS', 'FAIL', 'FAILED']),
  // Required in v1; v2 refunds may have none.
  refundRequestId: z.string().min(1).max(64).optional(),
  refundId: z.string().min(1).max(64),
  refundAmount: amountSchema,
  refundTime: z.string().optional(),
  grossSettlementAmount: amountSchema.optional(),
  settlementQuote: z.record(z.string(), z.unknown()).optional(),
  arn: z.string().optional(),
  metadata: z.unknown().optional(),
});

interface VerifyNotifyInput {
  /** The request path as received (with its query string, if any): it is part of what was signed. */
  path: string;
  /** Node's lower-cased headers (a plain record of any case also works). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body exactly as received: verification is over these bytes, before any parsing. */
  rawBody: Uint8Array | string;
  /** A parsed KeyObject (preferred on a hot path) or base64 SPKI / PEM text; during a key rotation, both keys. */
  antomPublicKey: KeyObject | string | ReadonlyArray<KeyObject | string>;
  /** When given, a notification for another client id is refused. */
  clientId?: string;
}

/**
 * `status` says how to answer a refusal: 401 when the request is not proven to come from Antom
 * (headers, client id, signature), 400 when it is Antom's but not a refund notification we can
 * read (then the reason helps whoever looks at Antom's side).
 */
export type VerifyNotifyResult = { ok: true; notification: RefundNotification } | { ok: false; status: 400 | 401; reason: string };

/**
 * Verifies and parses one notifyRefund request (Java WebhookTool.checkSignature): the signed
 * string is `POST <path>\n<client-id>.<request-time>.<body>`, checked with Antom's public key.
 * A failure says why, for the receiver's log; the receiver answers 401 and changes nothing.
 */
export function verifyNotifyRequest(input: VerifyNotifyInput): VerifyNotifyResult {
  const signature = headerOf(input.headers, 'signature');
  const clientId = headerOf(input.headers, 'client-id');
  const requestTime = headerOf(input.headers, 'request-time');
  const missing = [
    signature === undefined ? 'signature' : undefined,
    clientId === undefined ? 'client-id' : undefined,
    requestTime === undefined ? 'request-time' : undefined,
  ].filter((name): name is string => name !== undefined);
  if (signature === undefined || clientId === undefined || requestTime === undefined) {
    return { ok: false, status: 401, reason: `missing header${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` };
  }
  if (input.clientId !== undefined && clientId !== input.clientId) {
    return { ok: false, status: 401, reason: `notification for client id ${clientId}, expected ${input.clientId}` };
  }

  const keys = Array.isArray(input.antomPublicKey) ? input.antomPublicKey : [input.antomPublicKey as KeyObject | string];
  const verified = keys.some((key) =>
    verifySignatureHeader({
      header: signature,
      path: input.path,
      clientId,
      time: requestTime,
      body: input.rawBody,
      publicKey: typeof key === 'string' ? loadPublicKey(key) : key,
    }),
  );
  if (!verified) return { ok: false, status: 401, reason: 'signature does not verify with ANTOM_PUBLIC_KEY' };

  let body: unknown;
  try {
    body = JSON.parse(typeof input.rawBody === 'string' ? input.rawBody : Buffer.from(input.rawBody).toString('utf8'));
  } catch {
    return { ok: false, status: 400, reason: 'body is not JSON' };
  }
  const parsed = notificationSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, status: 400, reason: `not a refund notification: ${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid'}` };
  }
  const n = parsed.data;
  const notification: RefundNotification = {
    notifyType: n.notifyType,
    result: n.result,
    refundStatus: n.refundStatus,
    refundRequestId: n.refundRequestId,
    refundId: n.refundId,
    refundAmount: n.refundAmount,
    clientId,
    requestTime,
    refundTime: n.refundTime,
    grossSettlementAmount: n.grossSettlementAmount,
    settlementQuote: n.settlementQuote,
    arn: n.arn,
    metadata: n.metadata,
  };
  return { ok: true, notification };
}

/**
 * Header names are case-insensitive (docs/antom.md, "Signing"); Node lower-cases them, others may
 * not.
 */
function headerOf(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  let value = headers[name];
  if (value === undefined) {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : headers[key];
  }
  return Array.isArray(value) ? value[0] : value;
}
