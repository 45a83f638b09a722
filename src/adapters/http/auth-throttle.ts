import type { IncomingMessage } from 'node:http';

/**
 * Wrong ADMIN_TOKENs, counted per client address (docs/operations.md, "Admin API and console:
 * wrong tokens"): after `maxFailures` wrong tokens within `windowMs`, that address is refused
 * (429 with Retry-After) until the oldest of them is `windowMs` old, even with the right token, so
 * guessing costs a window per `maxFailures` guesses whatever the token. Other addresses are not
 * affected, so a guesser cannot lock the operators out. Per instance and in memory: a restart
 * forgets, and N instances allow N times as many guesses (the token should be long and random
 * anyway; this bounds a weak one).
 */
export interface AuthThrottle {
  /** Milliseconds until `client` may try again; 0 when it may now. */
  blockedFor(client: string, now: number): number;
  /** A wrong token from `client`. Returns true when this failure blocks it. */
  failed(client: string, now: number): boolean;
  /** The right token from `client`: its failures are forgotten. */
  succeeded(client: string): void;
}

export interface AuthThrottleOptions {
  readonly maxFailures?: number;
  readonly windowMs?: number;
  /** Addresses remembered at most; the longest-known are forgotten first. */
  readonly maxClients?: number;
}

export const AUTH_MAX_FAILURES = 10;
export const AUTH_WINDOW_MS = 60_000;

export function createAuthThrottle(options: AuthThrottleOptions = {}): AuthThrottle {
  const maxFailures = options.maxFailures ?? AUTH_MAX_FAILURES;
  const windowMs = options.windowMs ?? AUTH_WINDOW_MS;
  const maxClients = options.maxClients ?? 10_000;
  /** Each address's recent failure times, oldest first, at most maxFailures of them. */
  const failures = new Map<string, number[]>();

  function recent(client: string, now: number): number[] {
    const times = failures.get(client);
    if (!times) return [];
    while (times.length > 0 && times[0]! <= now - windowMs) times.shift();
    if (times.length === 0) failures.delete(client);
    return times;
  }

  return {
    blockedFor(client, now) {
      const times = recent(client, now);
      return times.length >= maxFailures ? times[0]! + windowMs - now : 0;
    },
    failed(client, now) {
      const times = recent(client, now);
      times.push(now);
      if (times.length > maxFailures) times.shift();
      failures.delete(client);
      failures.set(client, times);
      while (failures.size > maxClients) failures.delete(failures.keys().next().value!);
      return times.length >= maxFailures;
    },
    succeeded(client) {
      failures.delete(client);
    },
  };
}

/** The address a request came from (the proxy's, behind one: the admin listener is internal). */
export function clientAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}
