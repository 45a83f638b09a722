import { describe, expect, it } from 'vitest';
import { consoleKey, csrfToken, issueToken, parseCookies, setCookie, verifyCsrf, verifyToken } from '../../../src/adapters/http/console/session.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-25T10:00:00Z');

describe('console session cookie', () => {
  const key = consoleKey('admin-token');

  it('verifies a session it issued until it expires, and not a moment after', () => {
    const s = issueToken(key, 'session', T0, 8 * HOUR);
    expect(s.expiresAt).toBe(T0 + 8 * HOUR);
    expect(verifyToken(key, 'session', s.value, T0)).toEqual(s);
    expect(verifyToken(key, 'session', s.value, T0 + 8 * HOUR - 1)).toBeDefined();
    expect(verifyToken(key, 'session', s.value, T0 + 8 * HOUR)).toBeUndefined();
  });

  it('refuses a tampered id, expiry or signature, and garbage', () => {
    const s = issueToken(key, 'session', T0, HOUR);
    const [id, expires, sig] = s.value.split('.') as [string, string, string];
    const flip = (text: string) => (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
    expect(verifyToken(key, 'session', `${flip(id)}.${expires}.${sig}`, T0)).toBeUndefined();
    // A later expiry written in by hand: the signature no longer matches.
    expect(verifyToken(key, 'session', `${id}.${Number(expires) + 1000 * HOUR}.${sig}`, T0)).toBeUndefined();
    expect(verifyToken(key, 'session', `${id}.${expires}.${flip(sig)}`, T0)).toBeUndefined();
    for (const bad of ['', 'x', 'a.b.c', `${id}.${expires}`, `${s.value}.extra`, `${id}.-1.${sig}`]) expect(verifyToken(key, 'session', bad, T0)).toBeUndefined();
    expect(verifyToken(key, 'session', undefined, T0)).toBeUndefined();
  });

  it('refuses a token signed under another ADMIN_TOKEN, or for another purpose', () => {
    const s = issueToken(key, 'session', T0, HOUR);
    expect(verifyToken(consoleKey('rotated-token'), 'session', s.value, T0)).toBeUndefined();
    const login = issueToken(key, 'login', T0, HOUR);
    expect(verifyToken(key, 'session', login.value, T0)).toBeUndefined();
    expect(verifyToken(key, 'login', login.value, T0)).toBeDefined();
  });

  it('issues a fresh random id every time', () => {
    const ids = new Set(Array.from({ length: 50 }, () => issueToken(key, 'session', T0, HOUR).id));
    expect(ids.size).toBe(50);
  });

  it('sets the cookie HttpOnly, SameSite=Strict, on /console, Secure only over TLS', () => {
    expect(setCookie('rn_console', 'v', { maxAgeMs: 8 * HOUR, secure: false })).toBe('rn_console=v; Path=/console; Max-Age=28800; HttpOnly; SameSite=Strict');
    expect(setCookie('rn_console', '', { maxAgeMs: 0, secure: true })).toBe('rn_console=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict; Secure');
  });

  it('reads cookies, the first of a name winning', () => {
    expect(parseCookies('a=1; rn_console=x.y.z; a=2; junk; =v')).toEqual({ a: '1', rn_console: 'x.y.z' });
    expect(parseCookies(undefined)).toEqual({});
  });
});

describe('console CSRF tokens', () => {
  const key = consoleKey('admin-token');

  it('accepts the token of the session, and no other', () => {
    const a = issueToken(key, 'session', T0, HOUR);
    const b = issueToken(key, 'session', T0, HOUR);
    const token = csrfToken(key, 'session', a.id);
    expect(verifyCsrf(key, 'session', a.id, token)).toBe(true);
    expect(verifyCsrf(key, 'session', b.id, token)).toBe(false);
    expect(verifyCsrf(key, 'login', a.id, token)).toBe(false);
    expect(verifyCsrf(consoleKey('other'), 'session', a.id, token)).toBe(false);
    expect(verifyCsrf(key, 'session', a.id, '')).toBe(false);
    expect(verifyCsrf(key, 'session', a.id, null)).toBe(false);
    expect(verifyCsrf(key, 'session', a.id, `${token}x`)).toBe(false);
  });
});
