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
  /** ANTOM_PUBLIC_KEY_NEXT: Antom's next key during a rotation; an answer may verify with either. */
  antomPublicKeyNext?: string;
  /**
   * ANTOM_RESPONSE_MAX_AGE: a signed answer whose response-time is further than this from our
   * clock (either way) is refused like a forged one: it is a replay, or a clock badly off.
   */
  responseMaxAgeMs?: number;
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

/**
 * Antom ids are at most 64 characters, merchantAccountId at most 32 (docs/antom.md, "Two APIs
 * called inquiryRefund").
 */
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

// The omnichannel API overview gives v2 URLs as https://host/openapi/v2/... (docs/antom.md).
export const V2_INQUIRY_PATH = '/openapi/v2/payments/inquiryRefund';
export const V1_INQUIRY_PATH = '/ams/api/v1/payments/inquiryRefund';
export const V1_SANDBOX_INQUIRY_PATH = '/ams/sandbox/api/v1/payments/inquiryRefund';

/**
 * The path requested and signed: the base URL's own path, then the inquiry path. A v1 client id
 * starting with `SANDBOX_` uses Antom's sandbox path, as all three official SDKs do (docs/antom.md,
 * "Endpoint and keys").
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

const resultSchema = z
  .object({
    // Optional in the v2 spec (docs/antom.md): an answer without it is valid; it reads as
    // SUCCESS for an S answer and UNKNOWN otherwise.
    resultCode: z.string().min(1).optional(),
    resultStatus: z.enum(['S', 'F', 'U']),
    // Antom always sends a message; a missing one is not worth losing the answer over.
    resultMessage: z.string().optional().default(''),
  })
  .transform((r) => ({ ...r, resultCode: r.resultCode ?? (r.resultStatus === 'S' ? 'SUCCESS' : 'UNKNOWN') }));

const answerSchema = z.object({
  result: resultSchema,
  refundStatus: z.string().optional(),
  refundId: z.string().optional(),
  refundRequestId: z.string().optional(),
  paymentId: z.string().optional(),
  refundAmount: amountSchema.optional(),
  refundTime: z.string().optional(),
  grossSettlementAmount: amountSchema.optional(),
  settlementQuote: z.record(z.string(), z.unknown()).optional(),
  arn: z.string().optional(),
});

/** How far a signed response-time may be from our clock by default: clocks drift, replays age. */
export const DEFAULT_RESPONSE_MAX_AGE_MS = 5 * 60_000;

export function createAntomClient(settings: AntomClientSettings, deps: AntomClientDeps): AntomClient {
  const now = deps.now ?? Date.now;
  const logger = deps.logger.child({ component: 'antom-client' });
  // Parsed once: a KeyObject signs in microseconds, parsing DER each time would cost more.
  const privateKey: KeyObject = loadPrivateKey(settings.privateKey, 'ANTOM_PRIVATE_KEY');
  const antomPublicKeys: KeyObject[] = [
    loadPublicKey(settings.antomPublicKey, 'ANTOM_PUBLIC_KEY'),
    ...(settings.antomPublicKeyNext ? [loadPublicKey(settings.antomPublicKeyNext, 'ANTOM_PUBLIC_KEY_NEXT')] : []),
  ];
  const responseMaxAgeMs = settings.responseMaxAgeMs ?? DEFAULT_RESPONSE_MAX_AGE_MS;
  const { clientId, keyVersion, timeoutMs } = settings;
  const origin = new URL(settings.baseUrl).origin;

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

  /**
   * One flavour of inquiryRefund over the shared pool. A refund is asked with the flavour it was
   * tracked with (docs/antom.md): switching ANTOM_API must not ask v1 refunds through v2. The
   * configured flavour honours ANTOM_INQUIRY_PATH; the other uses its documented path.
   */
  function flavour(api: AntomApi): (query: InquiryQuery) => Promise<InquiryOutcome> {
    const path = resolveInquiryPath(api === settings.api ? settings : { ...settings, api, inquiryPath: undefined });
    const url = `${origin}${path}`;
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
        // The answer is verified as signed for OUR client id, whatever its client-id header says:
        // an answer Antom signed for another client (another merchant, or our sandbox) is not ours
        // to believe, even when its signature is good for the client it names.
        const headerClientId = header(headers, 'client-id');
        if (headerClientId !== undefined && headerClientId !== clientId) {
          return rejected('wrong-client', status, `Antom's answer is signed for client id ${headerClientId}, not ${clientId} (ANTOM_CLIENT_ID); not believed`);
        }
        const ok = antomPublicKeys.some((publicKey) =>
          verifySignatureHeader({ header: signatureHeader, path, clientId, time: responseTime, body: raw, publicKey }),
        );
        if (!ok) {
          return rejected('bad-signature', status, `the signature of Antom's answer does not verify with ANTOM_PUBLIC_KEY (POST ${url})`);
        }
        // A signature proves who wrote an answer, not when: a captured answer replayed later
        // verifies as well as a fresh one. The signed response-time must be close to our clock.
        const respondedAt = parseResponseTime(responseTime);
        if (respondedAt === undefined) {
          return rejected('stale-answer', status, `Antom's answer has a response-time nobody can read (${responseTime.slice(0, 40)}); not believed`);
        }
        const age = now() - respondedAt;
        if (Math.abs(age) > responseMaxAgeMs) {
          return rejected(
            'stale-answer',
            status,
            `Antom's answer was signed at ${new Date(respondedAt).toISOString()}, ${Math.round(Math.abs(age) / 1000)} s ${age > 0 ? 'ago' : 'ahead of our clock'} (ANTOM_RESPONSE_MAX_AGE is ${Math.round(responseMaxAgeMs / 1000)} s); not believed`,
          );
        }
        const parsed = parseAnswer(raw, status);
        if (parsed.kind !== 'ok') return parsed.failure;
        const answer = parsed.answer;
        const mismatch = mismatchedRefund(query, answer);
        if (mismatch) return rejected('mismatched-refund', status, mismatch);
        if (answer.result.resultStatus === 'S') {
          const unbound = unboundAnswer(api, query, answer);
          if (unbound) return rejected('unbound-answer', status, unbound);
        }
        return {
          kind: 'answer',
          signed: true,
          api,
          httpStatus: status,
          result: answer.result,
          ...definedFields(answer),
          respondedAt,
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

    return inquireRefund;
  }

  const flavours: Record<AntomApi, (query: InquiryQuery) => Promise<InquiryOutcome>> = { v1: flavour('v1'), v2: flavour('v2') };

  return {
    inquireRefund: (query) => flavours[query.api ?? settings.api](query),
    inquiryPath: resolveInquiryPath(settings),
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
    // The v2 request has refundId only (docs/antom.md, "Two APIs called inquiryRefund").
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

/**
 * A success answer carries the refund's state, so it must say which refund it is about: v2
 * answers name it by refundId (required in the spec), v1 answers by refundId or refundRequestId,
 * matching what we asked. An answer that names nothing could belong to any refund.
 */
function unboundAnswer(api: AntomApi, query: InquiryQuery, answer: z.infer<typeof answerSchema>): string | undefined {
  const named =
    api === 'v2'
      ? answer.refundId !== undefined && answer.refundId === query.refundId
      : (query.refundId !== undefined && answer.refundId === query.refundId) ||
        (query.refundRequestId !== undefined && answer.refundRequestId === query.refundRequestId);
  if (named) return undefined;
  const asked = query.refundId !== undefined ? `refundId ${query.refundId}` : `refundRequestId ${query.refundRequestId}`;
  return `Antom's success answer does not name the refund asked about (${asked}); not believed`;
}

/**
 * The signed response-time: epoch milliseconds as digits (Java and Go SDKs) or ISO 8601 with an
 * offset (the Python SDK, and what the docs show). Undefined for anything else.
 */
export function parseResponseTime(value: string): number | undefined {
  const text = value.trim();
  if (/^\d{10,16}$/.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function definedFields(answer: z.infer<typeof answerSchema>) {
  const { refundStatus, refundId, refundRequestId, paymentId, refundAmount, refundTime, grossSettlementAmount, settlementQuote, arn } = answer;
  return {
    ...(refundStatus === undefined ? {} : { refundStatus }),
    ...(refundId === undefined ? {} : { refundId }),
    ...(refundRequestId === undefined ? {} : { refundRequestId }),
    ...(paymentId === undefined ? {} : { paymentId }),
    ...(refundAmount === undefined ? {} : { refundAmount }),
    ...(refundTime === undefined ? {} : { refundTime }),
    ...(grossSettlementAmount === undefined ? {} : { grossSettlementAmount }),
    ...(settlementQuote === undefined ? {} : { settlementQuote }),
    ...(arn === undefined ? {} : { arn }),
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
