import type { IncomingHttpHeaders } from 'node:http';
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import { z } from 'zod';
import { InvalidInputError } from '../../domain/errors.js';
import type {
  AntomApi,
  InquiryOutcome,
  InquiryQuery,
  InquiryTransportFailure,
  RejectionReason,
  TransportErrorKind,
} from '../../domain/inquiry.js';
import { loadPrivateKey, loadPublicKey } from './keys.js';
import { signatureHeaderForAsync, verifySignatureHeader } from './signature.js';

export interface AntomClientSettings {
  /** ANTOM_BASE_URL; may carry a path prefix (e.g. `https://host/openapi`), which is signed too. */
  baseUrl: string;
  /** ANTOM_API */
  api: AntomApi;
  /** ANTOM_INQUIRY_PATH: used as given (no sandbox rewrite), after the base URL's path prefix. */
  inquiryPath?: string;
  /** ANTOM_CLIENT_ID */
  clientId: string;
  /** ANTOM_PRIVATE_KEY: base64 PKCS#8 DER or PEM. */
  privateKey: string;
  /** ANTOM_PUBLIC_KEY: base64 SPKI DER or PEM. */
  antomPublicKey: string;
  /** ANTOM_KEY_VERSION */
  keyVersion: string;
  /** ANTOM_TIMEOUT: the whole request, from connect to the last byte of the answer. */
  timeoutMs: number;
  /** Keep-alive pool size; ANTOM_CONCURRENCY is the natural value (default 16). */
  connections?: number;
}

export interface AntomClient {
  /**
   * One signed inquiry. Never throws for what Antom or the network can do (those are outcomes);
   * throws InvalidInputError for a query that can never be sent (no id, too long, v1 field on v2).
   */
  inquireRefund(query: InquiryQuery): Promise<InquiryOutcome>;
  /** The path that is requested and signed, e.g. `/ams/sandbox/api/v1/payments/inquiryRefund`. */
  readonly inquiryPath: string;
  /** Idempotent: a second call returns the first call's promise. */
  close(): Promise<void>;
}

export interface AntomClientDeps {
  logger: Logger;
  /** Epoch ms for Request-Time and Retry-After dates; injected for tests. */
  now?: () => number;
}

/** Antom ids are at most 64 characters (ANTOM-API.md §1a); merchantAccountId at most 32. */
const MAX_ID_LENGTH = 64;
const MAX_MERCHANT_ACCOUNT_ID_LENGTH = 32;

/** An inquiry answer is well under 2 KiB; 1 MiB bounds what a misbehaving peer can make us hold. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** How much of a non-200 body goes into the error message: enough to recognise a gateway page. */
const ERROR_SNIPPET_CHARS = 200;

/**
 * Below Node's default server keep-alive (5 s) and typical load balancers' (60 s): a pooled socket
 * is dropped by us before the peer closes it under a request in flight. undici also honours the
 * peer's `Keep-Alive: timeout=` hint.
 */
const KEEP_ALIVE_MS = 4_000;

export const DEFAULT_CONNECTIONS = 16;

export const V2_INQUIRY_PATH = '/v2/payments/inquiryRefund';
export const V1_INQUIRY_PATH = '/ams/api/v1/payments/inquiryRefund';
export const V1_SANDBOX_INQUIRY_PATH = '/ams/sandbox/api/v1/payments/inquiryRefund';

/**
 * The path requested and signed: the base URL's own path, then the inquiry path. A v1 client id
 * starting with `SANDBOX_` uses Antom's sandbox path, as all three official SDKs do (§3f).
 */
export function resolveInquiryPath(settings: Pick<AntomClientSettings, 'baseUrl' | 'api' | 'inquiryPath' | 'clientId'>): string {
  const prefix = new URL(settings.baseUrl).pathname.replace(/\/+$/, '');
  const path =
    settings.inquiryPath ??
    (settings.api === 'v2'
      ? V2_INQUIRY_PATH
      : settings.clientId.startsWith('SANDBOX_')
        ? V1_SANDBOX_INQUIRY_PATH
        : V1_INQUIRY_PATH);
  return `${prefix}${path.startsWith('/') ? path : `/${path}`}`;
}

const amountSchema = z.object({ currency: z.string(), value: z.union([z.string(), z.number()]).transform(String) });

const resultSchema = z.object({
  resultCode: z.string().min(1),
  resultStatus: z.enum(['S', 'F', 'U']),
  // Antom always sends a message; a missing one is not worth losing the answer over.
  resultMessage: z.string().optional().default(''),
});

const answerSchema = z.object({
  result: resultSchema,
  refundStatus: z.string().optional(),
  refundId: z.string().optional(),
  refundRequestId: z.string().optional(),
  paymentId: z.string().optional(),
  refundAmount: amountSchema.optional(),
  refundTime: z.string().optional(),
});

export function createAntomClient(settings: AntomClientSettings, deps: AntomClientDeps): AntomClient {
  const now = deps.now ?? Date.now;
  const logger = deps.logger.child({ component: 'antom-client' });
  // Parsed once: a KeyObject signs in microseconds, parsing DER each time would cost more.
  const privateKey: KeyObject = loadPrivateKey(settings.privateKey, 'ANTOM_PRIVATE_KEY');
  const antomPublicKey: KeyObject = loadPublicKey(settings.antomPublicKey, 'ANTOM_PUBLIC_KEY');
  const { api, clientId, keyVersion, timeoutMs } = settings;
  const origin = new URL(settings.baseUrl).origin;
  const path = resolveInquiryPath(settings);
  const url = `${origin}${path}`;

  const pool = new Pool(origin, {
    connections: settings.connections ?? DEFAULT_CONNECTIONS,
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

  async function inquireRefund(query: InquiryQuery): Promise<InquiryOutcome> {
    const body = Buffer.from(JSON.stringify(requestBody(api, query)), 'utf8');
    const requestTime = String(now());
    const signature = await signatureHeaderForAsync({ path, clientId, time: requestTime, body, privateKey, keyVersion });
    const started = now();
    const ids = { refundId: query.refundId, refundRequestId: query.refundRequestId };

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
        path,
        headers: {
          'content-type': 'application/json; charset=UTF-8',
          'client-id': clientId,
          'request-time': requestTime,
          signature,
        },
        body,
        signal: controller.signal,
      });
      const raw = await readBounded(response.body);
      const outcome =
        raw !== undefined
          ? interpret(response.statusCode, response.headers, raw, query)
          : response.statusCode === 200
            ? transport('malformed-answer', `answer larger than ${MAX_ANSWER_BYTES} bytes from ${url}`, 200)
            : interpret(response.statusCode, response.headers, Buffer.alloc(0), query);
      logOutcome(ids, outcome, now() - started);
      return outcome;
    } catch (err) {
      const outcome = transportFailure(err, timedOut);
      logger.warn({ ...ids, error: outcome.error, durationMs: now() - started }, outcome.message);
      return outcome;
    } finally {
      clearTimeout(timer);
    }
  }

  function interpret(status: number, headers: IncomingHttpHeaders, raw: Buffer, query: InquiryQuery): InquiryOutcome {
    if (status !== 200) {
      const retryAfterMs = parseRetryAfter(header(headers, 'retry-after'), now());
      const snippet = raw.toString('utf8', 0, ERROR_SNIPPET_CHARS * 4).slice(0, ERROR_SNIPPET_CHARS).trim();
      return transport(
        'http-status',
        `Antom answered HTTP ${status} to POST ${url}${snippet ? `: ${snippet}` : ''}`,
        status,
        retryAfterMs,
      );
    }

    const signatureHeader = header(headers, 'signature');
    const responseTime = header(headers, 'response-time');
    if (signatureHeader !== undefined && responseTime !== undefined) {
      // Java uses the request's client id, Python and Go the response's header: the same value
      // when Antom answers, so take the header when present.
      const signedClientId = header(headers, 'client-id') ?? clientId;
      const ok = verifySignatureHeader({
        header: signatureHeader,
        path,
        clientId: signedClientId,
        time: responseTime,
        body: raw,
        publicKey: antomPublicKey,
      });
      if (!ok) {
        return rejected('bad-signature', status, `the signature of Antom's answer does not verify with ANTOM_PUBLIC_KEY (POST ${url})`);
      }
      const parsed = parseAnswer(raw, status);
      if (parsed.kind !== 'ok') return parsed.failure;
      const answer = parsed.answer;
      const mismatch = mismatchedRefund(query, answer);
      if (mismatch) return rejected('mismatched-refund', status, mismatch);
      return {
        kind: 'answer',
        signed: true,
        api,
        httpStatus: status,
        result: answer.result,
        ...definedFields(answer),
        body: parsed.body,
      };
    }
    if (signatureHeader !== undefined || responseTime !== undefined) {
      return rejected(
        'incomplete-signature-headers',
        status,
        `Antom's answer carries ${signatureHeader !== undefined ? 'a signature but no response-time' : 'a response-time but no signature'}; not believed`,
      );
    }

    const parsed = parseAnswer(raw, status);
    if (parsed.kind !== 'ok') return parsed.failure;
    const { result } = parsed.answer;
    if (result.resultStatus === 'S') {
      return rejected('missing-signature', status, `Antom's answer says ${result.resultCode}/S but is not signed; not believed`);
    }
    return {
      kind: 'unsigned-answer',
      signed: false,
      api,
      httpStatus: status,
      result: { ...result, resultStatus: result.resultStatus },
      body: parsed.body,
    };
  }

  function parseAnswer(
    raw: Buffer,
    status: number,
  ):
    | { kind: 'ok'; answer: z.infer<typeof answerSchema>; body: unknown }
    | { kind: 'failed'; failure: InquiryTransportFailure } {
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      const snippet = raw.toString('utf8', 0, ERROR_SNIPPET_CHARS);
      return { kind: 'failed', failure: transport('malformed-json', `Antom's answer is not JSON: ${snippet}`, status) };
    }
    const answer = answerSchema.safeParse(body);
    if (!answer.success) {
      const problem = answer.error.issues[0];
      const where = problem ? `${problem.path.join('.') || 'body'}: ${problem.message}` : 'unreadable';
      return { kind: 'failed', failure: transport('malformed-answer', `Antom's answer has no usable result (${where})`, status) };
    }
    return { kind: 'ok', answer: answer.data, body };
  }

  function rejected(reason: RejectionReason, httpStatus: number, message: string): InquiryOutcome {
    return { kind: 'rejected', api, httpStatus, reason, message };
  }

  function transport(
    error: TransportErrorKind,
    message: string,
    httpStatus?: number,
    retryAfterMs?: number,
  ): InquiryTransportFailure {
    return {
      kind: 'transport-error',
      api,
      error,
      message,
      ...(httpStatus === undefined ? {} : { httpStatus }),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }

  function transportFailure(err: unknown, timedOut: boolean): InquiryTransportFailure {
    const code = (err as { code?: string } | undefined)?.code;
    if (timedOut || (code !== undefined && TIMEOUT_CODES.has(code))) {
      return transport('timeout', `Antom did not answer POST ${url} within ${timeoutMs} ms`);
    }
    if (code === 'ECONNREFUSED') return transport('refused', `connection to ${origin} refused (is ANTOM_BASE_URL right?)`);
    const message = err instanceof Error ? err.message : String(err);
    return transport('network', `POST ${url} failed: ${code ? `${code} ` : ''}${message}`);
  }

  function logOutcome(ids: { refundId?: string; refundRequestId?: string }, outcome: InquiryOutcome, durationMs: number): void {
    switch (outcome.kind) {
      case 'answer':
        logger.debug(
          { ...ids, httpStatus: outcome.httpStatus, resultCode: outcome.result.resultCode, resultStatus: outcome.result.resultStatus, refundStatus: outcome.refundStatus, durationMs },
          'inquiryRefund answered',
        );
        return;
      case 'unsigned-answer':
        logger.warn(
          { ...ids, resultCode: outcome.result.resultCode, resultStatus: outcome.result.resultStatus, durationMs },
          'unsigned gateway answer accepted as transient',
        );
        return;
      case 'rejected':
        logger.error({ ...ids, reason: outcome.reason, httpStatus: outcome.httpStatus, durationMs }, outcome.message);
        return;
      case 'transport-error':
        logger.warn({ ...ids, error: outcome.error, httpStatus: outcome.httpStatus, durationMs }, outcome.message);
        return;
    }
  }

  return {
    inquireRefund,
    inquiryPath: path,
    close() {
      closing ??= pool.close();
      return closing;
    },
  };
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** The request body for one flavour; throws for a query that can never be sent. */
export function requestBody(api: AntomApi, query: InquiryQuery): Record<string, string> {
  const problems: string[] = [];
  const { refundId, refundRequestId, merchantAccountId } = query;
  if (refundId !== undefined && (refundId === '' || refundId.length > MAX_ID_LENGTH)) {
    problems.push(`refundId must be 1 to ${MAX_ID_LENGTH} characters`);
  }
  if (refundRequestId !== undefined && (refundRequestId === '' || refundRequestId.length > MAX_ID_LENGTH)) {
    problems.push(`refundRequestId must be 1 to ${MAX_ID_LENGTH} characters`);
  }
  if (merchantAccountId !== undefined && (merchantAccountId === '' || merchantAccountId.length > MAX_MERCHANT_ACCOUNT_ID_LENGTH)) {
    problems.push(`merchantAccountId must be 1 to ${MAX_MERCHANT_ACCOUNT_ID_LENGTH} characters`);
  }
  if (api === 'v2') {
    // The v2 request has refundId only (ANTOM-API.md §1b).
    if (refundId === undefined) problems.push('the v2 inquiryRefund needs a refundId');
    if (refundRequestId !== undefined || merchantAccountId !== undefined) {
      problems.push('the v2 inquiryRefund takes refundId only (refundRequestId and merchantAccountId are v1 fields)');
    }
  } else if (refundId === undefined && refundRequestId === undefined) {
    problems.push('the v1 inquiryRefund needs a refundId or a refundRequestId');
  }
  if (problems.length > 0) throw new InvalidInputError(problems, 'ANTOM_INQUIRY_INVALID');

  const body: Record<string, string> = {};
  if (refundRequestId !== undefined) body.refundRequestId = refundRequestId;
  if (refundId !== undefined) body.refundId = refundId;
  if (merchantAccountId !== undefined) body.merchantAccountId = merchantAccountId;
  return body;
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

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** An answer about another refund than the one asked about is never applied to this one. */
function mismatchedRefund(query: InquiryQuery, answer: z.infer<typeof answerSchema>): string | undefined {
  if (query.refundId !== undefined && answer.refundId !== undefined && answer.refundId !== query.refundId) {
    return `asked about refundId ${query.refundId}, Antom answered about ${answer.refundId}`;
  }
  if (
    query.refundId === undefined &&
    query.refundRequestId !== undefined &&
    answer.refundRequestId !== undefined &&
    answer.refundRequestId !== query.refundRequestId
  ) {
    return `asked about refundRequestId ${query.refundRequestId}, Antom answered about ${answer.refundRequestId}`;
  }
  return undefined;
}

function definedFields(answer: z.infer<typeof answerSchema>) {
  const { refundStatus, refundId, refundRequestId, paymentId, refundAmount, refundTime } = answer;
  return {
    ...(refundStatus === undefined ? {} : { refundStatus }),
    ...(refundId === undefined ? {} : { refundId }),
    ...(refundRequestId === undefined ? {} : { refundRequestId }),
    ...(paymentId === undefined ? {} : { paymentId }),
    ...(refundAmount === undefined ? {} : { refundAmount }),
    ...(refundTime === undefined ? {} : { refundTime }),
  };
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
