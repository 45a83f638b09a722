/**
 * What one inquiryRefund call to Antom can come back with, before anyone decides what it means
 * (that is classify.ts). Pure types: the Antom client produces these, the classifier reads them.
 *
 * Two things are kept apart on purpose (docs/antom.md, "Two APIs called inquiryRefund" and
 * "Result codes"): `result` says whether the *inquiry call* worked; `refundStatus` says where the
 * *refund* stands. An inquiry that succeeds (result S) about a refund that failed (refundStatus
 * FAIL) is a failed refund.
 */

/** `v2` = omnichannel `POST /v2/payments/inquiryRefund`; `v1` = classic AMS inquiryRefund. */
export type AntomApi = 'v1' | 'v2';

export type ResultStatus = 'S' | 'F' | 'U';

/** Antom's `result` object, exactly as sent (codes are normalised only when classified). */
export interface AntomResult {
  readonly resultCode: string;
  readonly resultStatus: ResultStatus;
  readonly resultMessage: string;
}

/** Antom's Amount: `value` is the amount in minor units, as a decimal string. */
export interface AntomAmount {
  readonly currency: string;
  readonly value: string;
}

/**
 * A 200 answer whose signature verified with Antom's public key: the only kind of answer that
 * may move a refund to a final state.
 */
export interface VerifiedInquiryAnswer {
  readonly kind: 'answer';
  readonly signed: true;
  readonly api: AntomApi;
  readonly httpStatus: number;
  readonly result: AntomResult;
  /** v1: SUCCESS / PROCESSING / FAIL; v2: SUCCESS / PENDING / FAILED. Present when result is S. */
  readonly refundStatus?: string;
  readonly refundId?: string;
  readonly refundRequestId?: string;
  readonly paymentId?: string;
  readonly refundAmount?: AntomAmount;
  /** ISO 8601, only when refundStatus is SUCCESS. */
  readonly refundTime?: string;
  /** v1: what Antom settles, when the FX rate was locked at payment time (docs/antom.md). */
  readonly grossSettlementAmount?: AntomAmount;
  readonly settlementQuote?: Readonly<Record<string, unknown>>;
  /** The acquirer reference number, when the payment method has one. */
  readonly arn?: string;
  /** Epoch ms of the signed `response-time` header: when Antom says it answered. */
  readonly respondedAt: number;
  /** The parsed body as Antom sent it, for display and audit. */
  readonly body: unknown;
}

/**
 * A 200 answer with no signature headers and result F or U: the gateway sometimes answers errors
 * itself without signing (docs/antom.md, "Signing"). Accepted as transient, never as a refund
 * outcome.
 */
export interface UnsignedGatewayAnswer {
  readonly kind: 'unsigned-answer';
  readonly signed: false;
  readonly api: AntomApi;
  readonly httpStatus: number;
  readonly result: AntomResult & { readonly resultStatus: 'F' | 'U' };
  readonly body: unknown;
}

export type RejectionReason =
  /** An S answer without signature headers: an unsigned success is never believed. */
  | 'missing-signature'
  /** Only one of `signature` / `response-time` was sent (rejected by the hardened SDKs). */
  | 'incomplete-signature-headers'
  /** A signature that does not verify with Antom's public key (forged, or the wrong key configured). */
  | 'bad-signature'
  /** A verified answer about a different refund than the one asked about. */
  | 'mismatched-refund'
  /** A verified success answer that does not name the refund asked about at all. */
  | 'unbound-answer'
  /** Signed for another client id than ours (ANTOM_CLIENT_ID). */
  | 'wrong-client'
  /** Signed too long ago (or in the future), or with a response-time nobody can read: a replay. */
  | 'stale-answer';

/** An answer that must not be read as a refund status at all. */
export interface RejectedInquiryAnswer {
  readonly kind: 'rejected';
  readonly api: AntomApi;
  readonly httpStatus: number;
  readonly reason: RejectionReason;
  readonly message: string;
}

export type TransportErrorKind =
  /** Any HTTP status other than 200 (the SDKs treat every non-200 as an error). */
  | 'http-status'
  | 'timeout'
  | 'refused'
  /** Resets, DNS failures, TLS problems and other socket-level faults. */
  | 'network'
  | 'malformed-json'
  /** Valid JSON without a usable `result` object. */
  | 'malformed-answer';

/** The inquiry told us nothing: try again later. */
export interface InquiryTransportFailure {
  readonly kind: 'transport-error';
  readonly api: AntomApi;
  readonly error: TransportErrorKind;
  readonly message: string;
  readonly httpStatus?: number;
  /** From a Retry-After header, when Antom (or a proxy in front of it) sent one. */
  readonly retryAfterMs?: number;
}

export type InquiryOutcome =
  | VerifiedInquiryAnswer
  | UnsignedGatewayAnswer
  | RejectedInquiryAnswer
  | InquiryTransportFailure;

/** What the client is asked: v2 needs refundId; v1 takes either id (refundId wins if both). */
export interface InquiryQuery {
  /** The flavour to ask with (the refund's own); the client's configured one when absent. */
  readonly api?: AntomApi;
  readonly refundId?: string;
  readonly refundRequestId?: string;
  /** v1 online API only: when one client id serves several merchant accounts. */
  readonly merchantAccountId?: string;
}

/** Antom's notifyRefund body (docs/antom.md, "notifyRefund"), verified and parsed. */
export interface RefundNotification {
  readonly notifyType: 'REFUND_RESULT';
  /** Here `result` describes the refund outcome itself, not a call. */
  readonly result: AntomResult;
  /** v1 sends FAIL, v2 may send FAILED; both mean the refund failed. */
  readonly refundStatus: 'SUCCESS' | 'FAIL' | 'FAILED';
  /** v1 always sends it; v2 may not. */
  readonly refundRequestId?: string;
  readonly refundId: string;
  readonly refundAmount: AntomAmount;
  readonly refundTime?: string;
  readonly grossSettlementAmount?: AntomAmount;
  readonly settlementQuote?: Readonly<Record<string, unknown>>;
  readonly arn?: string;
  readonly metadata?: unknown;
  /** From the `client-id` and `request-time` headers, both covered by the signature. */
  readonly clientId: string;
  readonly requestTime: string;
}
