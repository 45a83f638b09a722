import { InvalidInputError } from '../../domain/errors.js';
import type { AntomApi, InquiryQuery } from '../../domain/inquiry.js';

/**
 * The two APIs called inquiryRefund (docs/antom.md, "Two APIs called inquiryRefund"), as data:
 * where each is asked, what its request may and must carry, and how its success answer names the
 * refund. Everything else about an inquiry (signing, sending, verifying) is the same for both.
 */

type RefundField = 'refundId' | 'refundRequestId';
type QueryField = RefundField | 'merchantAccountId';

interface Flavour {
  /** The documented inquiry path. */
  readonly path: string;
  /**
   * The path for a client id starting with `SANDBOX_`, as all three official SDKs rewrite it
   * (docs/antom.md, "Endpoint and keys"); v2 has no such rewrite in any SDK.
   */
  readonly sandboxPath?: string;
  /** The fields the request may carry, in the order they are serialised (and signed). */
  readonly fields: readonly QueryField[];
  /** The request needs at least one of these. */
  readonly needsOneOf: readonly QueryField[];
  /** A success answer names the refund by one of these, matching what was asked. */
  readonly namedBy: readonly RefundField[];
}

const FLAVOURS: Readonly<Record<AntomApi, Flavour>> = {
  v1: {
    path: '/ams/api/v1/payments/inquiryRefund',
    sandboxPath: '/ams/sandbox/api/v1/payments/inquiryRefund',
    fields: ['refundRequestId', 'refundId', 'merchantAccountId'],
    needsOneOf: ['refundId', 'refundRequestId'],
    namedBy: ['refundId', 'refundRequestId'],
  },
  // The omnichannel API overview gives v2 URLs as https://host/openapi/v2/... (docs/antom.md).
  // The v2 request has refundId only, and its answer's refundId is required in the spec.
  v2: {
    path: '/openapi/v2/payments/inquiryRefund',
    fields: ['refundId'],
    needsOneOf: ['refundId'],
    namedBy: ['refundId'],
  },
};

/**
 * Antom ids are at most 64 characters, merchantAccountId at most 32 (docs/antom.md, "Two APIs
 * called inquiryRefund"). Checked in this order, whatever the flavour.
 */
const MAX_LENGTH: Readonly<Record<QueryField, number>> = { refundId: 64, refundRequestId: 64, merchantAccountId: 32 };

/** The settings that decide where an inquiry goes. */
type RouteSettings = { readonly baseUrl: string; readonly api: AntomApi; readonly inquiryPath?: string; readonly clientId: string };

/**
 * The path requested and signed: the base URL's own path, then the inquiry path. ANTOM_INQUIRY_PATH
 * is used as given (no sandbox rewrite).
 */
export function resolveInquiryPath(settings: RouteSettings): string {
  const prefix = new URL(settings.baseUrl).pathname.replace(/\/+$/, '');
  const flavour = FLAVOURS[settings.api];
  const path =
    settings.inquiryPath ?? (flavour.sandboxPath !== undefined && settings.clientId.startsWith('SANDBOX_') ? flavour.sandboxPath : flavour.path);
  return `${prefix}${path.startsWith('/') ? path : `/${path}`}`;
}

/** Where one flavour's inquiries go: the path that is signed, and the origin and URL that messages name. */
export interface InquiryRoute {
  readonly api: AntomApi;
  readonly path: string;
  readonly origin: string;
  readonly url: string;
}

/**
 * A refund is asked with the flavour it was tracked with (docs/antom.md): switching ANTOM_API must
 * not ask v1 refunds through v2. The configured flavour honours ANTOM_INQUIRY_PATH; the other uses
 * its documented path.
 */
export function inquiryRoute(settings: RouteSettings, api: AntomApi): InquiryRoute {
  const path = resolveInquiryPath(api === settings.api ? settings : { ...settings, api, inquiryPath: undefined });
  const origin = new URL(settings.baseUrl).origin;
  return { api, path, origin, url: `${origin}${path}` };
}

/** The request body for one flavour; throws for a query that can never be sent. */
export function requestBody(api: AntomApi, query: InquiryQuery): Record<string, string> {
  const problems = queryProblems(api, query);
  if (problems.length > 0) throw new InvalidInputError(problems, 'ANTOM_INQUIRY_INVALID');
  const body: Record<string, string> = {};
  for (const field of FLAVOURS[api].fields) {
    const value = query[field];
    if (value !== undefined) body[field] = value;
  }
  return body;
}

function queryProblems(api: AntomApi, query: InquiryQuery): string[] {
  const flavour = FLAVOURS[api];
  const problems: string[] = [];
  for (const [field, max] of Object.entries(MAX_LENGTH) as [QueryField, number][]) {
    const value = query[field];
    if (value !== undefined && (value === '' || value.length > max)) problems.push(`${field} must be 1 to ${max} characters`);
  }
  if (flavour.needsOneOf.every((field) => query[field] === undefined)) {
    problems.push(`the ${api} inquiryRefund needs a ${flavour.needsOneOf.join(' or a ')}`);
  }
  const foreign = (Object.keys(MAX_LENGTH) as QueryField[]).filter((field) => !flavour.fields.includes(field));
  if (foreign.some((field) => query[field] !== undefined)) {
    const owners = (Object.keys(FLAVOURS) as AntomApi[]).filter((other) => foreign.every((field) => FLAVOURS[other].fields.includes(field)));
    problems.push(`the ${api} inquiryRefund takes ${flavour.fields.join(' and ')} only (${foreign.join(' and ')} are ${owners.join(' and ')} fields)`);
  }
  return problems;
}

/**
 * A success answer carries the refund's state, so it must say which refund it is about, by an id
 * we asked with. An answer that names nothing could belong to any refund.
 */
export function answerNamesRefund(api: AntomApi, query: InquiryQuery, answer: { refundId?: string; refundRequestId?: string }): boolean {
  return FLAVOURS[api].namedBy.some((field) => query[field] !== undefined && answer[field] === query[field]);
}
