import type { IncomingHttpHeaders } from 'node:http';
import type { KeyObject } from 'node:crypto';
import { Pool } from 'undici';
import { signatureHeaderForAsync } from './signature.js';

/**
 * One signed POST to Antom over a keep-alive pool: sign the exact bytes that are sent, send them
 * under one deadline, read the answer up to a bound. What the answer means is decided elsewhere
 * (verify-answer.ts, failures.ts); this file only moves bytes.
 */

/** An inquiry answer is well under 2 KiB; 1 MiB bounds what a misbehaving peer can make us hold. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * Below Node's default server keep-alive (5 s) and typical load balancers' (60 s): a pooled socket
 * is dropped by us before the peer closes it under a request in flight. undici also honours the
 * peer's `Keep-Alive: timeout=` hint.
 */
const KEEP_ALIVE_MS = 4_000;

/** Keep-alive pool size when none is given; ANTOM_CONCURRENCY's default. */
const DEFAULT_CONNECTIONS = 16;

/** Our own deadline for the whole exchange passed, and the request was aborted. */
export class DeadlineExceededError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('the exchange with Antom passed its deadline', options);
    this.name = 'DeadlineExceededError';
  }
}

export interface SignedRequest {
  readonly path: string;
  readonly body: Buffer;
  /** The headers that identify and sign it: client-id, request-time, signature. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Undefined when the answer was larger than MAX_ANSWER_BYTES (and was not read further). */
  readonly raw: Buffer | undefined;
}

export interface SignedExchange {
  /** Signs `body` for `path` as sent now; the RSA operation runs off the event loop. */
  sign(path: string, body: Buffer): Promise<SignedRequest>;
  /**
   * Sends a signed request and reads the answer. Rejects for what the network does (undici's
   * errors, or a DeadlineExceededError); any HTTP status resolves.
   */
  send(request: SignedRequest): Promise<HttpAnswer>;
  /** Idempotent: a second call returns the first call's promise. */
  close(): Promise<void>;
}

export function createSignedExchange(options: {
  origin: string;
  clientId: string;
  keyVersion: string;
  privateKey: KeyObject;
  /** The whole request, from connect to the last byte of the answer. */
  timeoutMs: number;
  connections?: number;
  /** Epoch ms, for Request-Time. */
  now: () => number;
}): SignedExchange {
  const { clientId, keyVersion, privateKey, timeoutMs } = options;
  const pool = new Pool(options.origin, {
    connections: options.connections ?? DEFAULT_CONNECTIONS,
    // One request per connection at a time: a POST pipelined behind a stalled one would share
    // its fate.
    pipelining: 1,
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: KEEP_ALIVE_MS,
    keepAliveMaxTimeout: KEEP_ALIVE_MS,
  });
  let closing: Promise<void> | undefined;

  async function sign(path: string, body: Buffer): Promise<SignedRequest> {
    const requestTime = String(options.now());
    const signature = await signatureHeaderForAsync({ path, clientId, time: requestTime, body, privateKey, keyVersion });
    return { path, body, headers: { 'client-id': clientId, 'request-time': requestTime, signature } };
  }

  async function send(request: SignedRequest): Promise<HttpAnswer> {
    // One deadline for the whole exchange; undici's own per-phase timeouts are a backstop.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      // undici never retries a POST on its own (only its RetryAgent does), so one call here is
      // one request at Antom: a retry is always the caller's decision.
      const response = await pool.request({
        method: 'POST',
        path: request.path,
        headers: { 'content-type': 'application/json; charset=UTF-8', ...request.headers },
        body: request.body,
        signal: controller.signal,
      });
      const raw = await readBounded(response.body);
      return { status: response.statusCode, headers: response.headers, raw };
    } catch (err) {
      throw timedOut ? new DeadlineExceededError({ cause: err }) : err;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    sign,
    send,
    close() {
      closing ??= pool.close();
      return closing;
    },
  };
}

/** One header's value; a repeated header counts by its first value. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBounded(body: AsyncIterable<Buffer> & { destroy(err?: Error): void }): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}
