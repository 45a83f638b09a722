import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The console's session and CSRF tokens (docs/operations.md, "Console"). Stateless: a session is
 * a random id and an expiry signed with HMAC-SHA256, so any instance holding the same ADMIN_TOKEN
 * accepts it, and changing ADMIN_TOKEN ends every session at once. The key is derived from
 * ADMIN_TOKEN (never the token itself), one purpose label per kind of token, so a value signed
 * for one use (the login form) is never accepted for another (a session).
 */

export type TokenPurpose = 'session' | 'login';

/** The signing key of the console: HMAC of a fixed label under ADMIN_TOKEN. */
export function consoleKey(adminToken: string): Buffer {
  return createHmac('sha256', adminToken).update('refund-notifier console v1').digest();
}

const mac = (key: Buffer, text: string): string => createHmac('sha256', key).update(text).digest('base64url');

/** Compares two strings in constant time, without leaking their lengths (digests are equal-sized). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export interface SignedToken {
  /** The cookie value: `<id>.<expiresAt>.<signature>`. */
  readonly value: string;
  readonly id: string;
  readonly expiresAt: number;
}

/** A new token for `purpose`: 128 random bits and an expiry, signed. */
export function issueToken(key: Buffer, purpose: TokenPurpose, now: number, ttlMs: number): SignedToken {
  const id = randomBytes(16).toString('base64url');
  const expiresAt = now + ttlMs;
  return { id, expiresAt, value: `${id}.${expiresAt}.${mac(key, `${purpose}.${id}.${expiresAt}`)}` };
}

/** The token's id and expiry if `value` was signed by us for `purpose` and has not expired. */
export function verifyToken(key: Buffer, purpose: TokenPurpose, value: string | undefined, now: number): SignedToken | undefined {
  if (!value) return undefined;
  const parts = value.split('.');
  if (parts.length !== 3) return undefined;
  const [id, expires, signature] = parts as [string, string, string];
  if (!/^[A-Za-z0-9_-]{22}$/.test(id) || !/^\d{1,15}$/.test(expires)) return undefined;
  if (!sameSecret(signature, mac(key, `${purpose}.${id}.${expires}`))) return undefined;
  const expiresAt = Number(expires);
  if (now >= expiresAt) return undefined;
  return { id, expiresAt, value };
}

/**
 * The CSRF token of the forms shown under a session (or a login token): bound to its id, so a
 * token seen by one browser is useless with another's cookie, and it ends with the session.
 */
export function csrfToken(key: Buffer, purpose: TokenPurpose, id: string): string {
  return mac(key, `csrf.${purpose}.${id}`);
}

export function verifyCsrf(key: Buffer, purpose: TokenPurpose, id: string, given: string | undefined | null): boolean {
  if (!given) return false;
  return sameSecret(given, csrfToken(key, purpose, id));
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';').map((p) => p.trim())) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    // The first of a name wins (the most specific path comes first, RFC 6265 §5.4).
    if (!(name in cookies)) cookies[name] = part.slice(eq + 1).trim();
  }
  return cookies;
}

/**
 * A Set-Cookie header for the console: HttpOnly (no script reads it), SameSite=Strict (no other
 * site's page sends it), Path=/console, and Secure when the request came over TLS (directly or
 * through a proxy that says so): a Secure cookie is never set over plain HTTP, so the console
 * also works on a loopback port.
 */
export function setCookie(name: string, value: string, options: { maxAgeMs: number; secure: boolean }): string {
  const maxAge = Math.max(0, Math.floor(options.maxAgeMs / 1000));
  return `${name}=${value}; Path=/console; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${options.secure ? '; Secure' : ''}`;
}
