import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Html } from './html.js';

/**
 * How every console answer goes out, with the headers that make a page safe to show: a strict
 * Content-Security-Policy (no script at all, styles from our own stylesheet only, no framing,
 * forms post only to us), no caching of pages (they carry customer data), no referrer to other
 * sites (a URL never leaves us), no MIME sniffing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  // Not no-referrer: under it a browser sends `Origin: null` with every POST, even to us, and
  // sameOrigin() below could no longer tell our forms from another site's.
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export interface Answer {
  readonly status: number;
  readonly body?: Html;
  /** A 303 to this path (after a POST, or to the login page). */
  readonly location?: string;
  readonly cookies?: readonly string[];
  /** With a 429: seconds until the client may try again (Retry-After). */
  readonly retryAfterS?: number;
}

export function sendAnswer(res: ServerResponse, answer: Answer): void {
  const headers: Record<string, string | string[]> = {
    ...SECURITY_HEADERS,
    'cache-control': 'no-store',
  };
  if (answer.cookies && answer.cookies.length > 0) headers['set-cookie'] = [...answer.cookies];
  if (answer.location) headers.location = answer.location;
  if (answer.retryAfterS !== undefined) headers['retry-after'] = String(answer.retryAfterS);
  const text = answer.body?.text ?? '';
  headers['content-type'] = 'text/html; charset=utf-8';
  headers['content-length'] = String(Buffer.byteLength(text));
  res.writeHead(answer.status, headers);
  res.end(text);
}

/** The stylesheet: no customer data, so it may be cached for a while (5 minutes). */
export function sendStylesheet(res: ServerResponse, css: string): void {
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': 'text/css; charset=utf-8',
    'cache-control': 'private, max-age=300',
    'content-length': String(Buffer.byteLength(css)),
  });
  res.end(css);
}

/** Whether the browser reached us over TLS: directly, or through a proxy that says so. */
export function overTls(req: IncomingMessage): boolean {
  if ((req.socket as { encrypted?: boolean }).encrypted) return true;
  const forwarded = req.headers['x-forwarded-proto'];
  const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return proto === 'https';
}

/**
 * A POST from another origin is refused before its CSRF token is even read: browsers send
 * Origin on every cross-site POST. No Origin (an old client, curl) leaves the decision to the token.
 * Behind a proxy that rewrites Host, the host the browser used is X-Forwarded-Host: a page of
 * another site cannot set that header on a form it submits, so trusting it here opens nothing.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  if (origin === 'null') return false;
  const forwarded = req.headers['x-forwarded-host'];
  const forwardedHost = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  try {
    const host = new URL(origin).host;
    return host === req.headers.host || (forwardedHost !== undefined && host === forwardedHost);
  } catch {
    return false;
  }
}
