import type { IncomingHttpHeaders } from 'node:http';
import type { AntomApi, InquiryTransportFailure, TransportErrorKind } from '../../domain/inquiry.js';
import { DeadlineExceededError, headerValue } from './exchange.js';
import type { InquiryRoute } from './flavours.js';

/**
 * An inquiry that told us nothing, as an outcome rather than an exception: a timeout, a refused
 * connection, a non-200 status (with the Retry-After that Antom or a proxy in front of it sent),
 * an answer that is not JSON. The client never retries; these outcomes are what the caller's
 * schedule retries from (docs/antom.md).
 */

/** How much of a non-200 body goes into the error message: enough to recognise a gateway page. */
export const ERROR_SNIPPET_CHARS = 200;

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

export function transportFailure(
  api: AntomApi,
  error: TransportErrorKind,
  message: string,
  httpStatus?: number,
  retryAfterMs?: number,
): InquiryTransportFailure {
  return { kind: 'transport-error', api, error, message, httpStatus, retryAfterMs };
}

/** What a failed exchange (it threw) means: our deadline, a refused connection, or the network. */
export function failureFromError(route: InquiryRoute, err: unknown, timeoutMs: number): InquiryTransportFailure {
  const code = (err as { code?: string } | undefined)?.code;
  if (err instanceof DeadlineExceededError || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return transportFailure(route.api, 'timeout', `Antom did not answer POST ${route.url} within ${timeoutMs} ms`);
  }
  if (code === 'ECONNREFUSED') {
    return transportFailure(route.api, 'refused', `connection to ${route.origin} refused (is ANTOM_BASE_URL right?)`);
  }
  const message = err instanceof Error ? err.message : String(err);
  return transportFailure(route.api, 'network', `POST ${route.url} failed: ${code ? `${code} ` : ''}${message}`);
}

/** Any status but 200 is an error, as in the SDKs; the start of the body helps recognise who sent it. */
export function httpStatusFailure(
  route: InquiryRoute,
  status: number,
  headers: IncomingHttpHeaders,
  raw: Buffer,
  nowMs: number,
): InquiryTransportFailure {
  const retryAfterMs = parseRetryAfter(headerValue(headers, 'retry-after'), nowMs);
  const snippet = raw.toString('utf8', 0, ERROR_SNIPPET_CHARS * 4).slice(0, ERROR_SNIPPET_CHARS).trim();
  return transportFailure(
    route.api,
    'http-status',
    `Antom answered HTTP ${status} to POST ${route.url}${snippet ? `: ${snippet}` : ''}`,
    status,
    retryAfterMs,
  );
}

/**
 * `Retry-After` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). Negative or
 * unreadable values are ignored rather than turned into "retry now".
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date always names its weekday and month; Date.parse alone would read "-5" as a year.
  if (!/[A-Za-z]{3}/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
