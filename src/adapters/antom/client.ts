import type { Logger } from 'pino';
import type { AntomApi, InquiryOutcome, InquiryQuery } from '../../domain/inquiry.js';
import { createSignedExchange, MAX_ANSWER_BYTES, type HttpAnswer } from './exchange.js';
import { failureFromError, httpStatusFailure, transportFailure } from './failures.js';
import { inquiryRoute, requestBody, resolveInquiryPath, type InquiryRoute } from './flavours.js';
import { loadPrivateKey, loadPublicKey } from './keys.js';
import { verifyAnswer, type AnswerTrust } from './verify-answer.js';

/**
 * The Antom inquiryRefund client: the one port the poll loop asks Antom through. It assembles the
 * parts, each in its own file: the per-version request and path (flavours.ts), the signed HTTP
 * exchange (exchange.ts), the checks that make an answer believable (verify-answer.ts), and the
 * failures that tell the caller to try again later (failures.ts).
 */

// The command `inquire` checks a query before it builds a client.
export { requestBody } from './flavours.js';

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
   * `logFields` (the refund's trace_id, span_id) go into its log lines about this inquiry.
   */
  inquireRefund(query: InquiryQuery, logFields?: Readonly<Record<string, string | undefined>>): Promise<InquiryOutcome>;
  /** The path that is requested and signed, e.g. `/ams/sandbox/api/v1/payments/inquiryRefund`. */
  readonly inquiryPath: string;
  /** Idempotent: a second call returns the first call's promise. */
  close(): Promise<void>;
}

interface AntomClientDeps {
  logger: Logger;
  /** Epoch ms for Request-Time and Retry-After dates; injected for tests. */
  now?: () => number;
}

/** How far a signed response-time may be from our clock by default: clocks drift, replays age. */
const DEFAULT_RESPONSE_MAX_AGE_MS = 5 * 60_000;

export function createAntomClient(settings: AntomClientSettings, deps: AntomClientDeps): AntomClient {
  const now = deps.now ?? Date.now;
  const logger = deps.logger.child({ component: 'antom-client' });
  // Parsed once: a KeyObject signs in microseconds, parsing DER each time would cost more.
  const privateKey = loadPrivateKey(settings.privateKey, 'ANTOM_PRIVATE_KEY');
  const trust: AnswerTrust = {
    clientId: settings.clientId,
    publicKeys: [
      loadPublicKey(settings.antomPublicKey, 'ANTOM_PUBLIC_KEY'),
      ...(settings.antomPublicKeyNext ? [loadPublicKey(settings.antomPublicKeyNext, 'ANTOM_PUBLIC_KEY_NEXT')] : []),
    ],
    responseMaxAgeMs: settings.responseMaxAgeMs ?? DEFAULT_RESPONSE_MAX_AGE_MS,
    now,
  };
  const exchange = createSignedExchange({
    origin: new URL(settings.baseUrl).origin,
    clientId: settings.clientId,
    keyVersion: settings.keyVersion,
    privateKey,
    timeoutMs: settings.timeoutMs,
    connections: settings.connections,
    now,
  });
  const routes: Record<AntomApi, InquiryRoute> = { v1: inquiryRoute(settings, 'v1'), v2: inquiryRoute(settings, 'v2') };

  async function inquireRefund(route: InquiryRoute, query: InquiryQuery, logFields: Readonly<Record<string, string | undefined>> | undefined): Promise<InquiryOutcome> {
    const body = Buffer.from(JSON.stringify(requestBody(route.api, query)), 'utf8');
    const request = await exchange.sign(route.path, body);
    const started = now();
    let outcome: InquiryOutcome;
    try {
      outcome = meaningOf(route, query, await exchange.send(request));
    } catch (err) {
      outcome = failureFromError(route, err, settings.timeoutMs);
    }
    logOutcome(logger, query, outcome, now() - started, logFields);
    return outcome;
  }

  /** What an HTTP answer means: a status error, an answer too large to read, or one to verify. */
  function meaningOf(route: InquiryRoute, query: InquiryQuery, reply: HttpAnswer): InquiryOutcome {
    if (reply.status !== 200) return httpStatusFailure(route, reply.status, reply.headers, reply.raw ?? Buffer.alloc(0), now());
    if (reply.raw === undefined) {
      return transportFailure(route.api, 'malformed-answer', `answer larger than ${MAX_ANSWER_BYTES} bytes from ${route.url}`, 200);
    }
    return verifyAnswer(trust, route, query, { status: reply.status, headers: reply.headers, raw: reply.raw });
  }

  return {
    inquireRefund: (query, logFields) => inquireRefund(routes[query.api ?? settings.api], query, logFields),
    inquiryPath: resolveInquiryPath(settings),
    close: () => exchange.close(),
  };
}

function logOutcome(logger: Logger, query: InquiryQuery, outcome: InquiryOutcome, durationMs: number, logFields: object | undefined): void {
  const ids = { refundId: query.refundId, refundRequestId: query.refundRequestId, ...logFields };
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
