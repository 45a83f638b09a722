import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createNotifier, type NotificationAttempt, type NotifyRetryMode } from './notifier.js';
import { createSeededRandom } from './random.js';
import {
  codeFor,
  messageFor,
  parseScenario,
  pickFault,
  refundStatusFor,
  type FaultRule,
  type SandboxApi,
  type Scenario,
} from './scenario.js';
import { checkMessage, readPublicKey, sandboxKeys, signMessageAsync } from './signing.js';

export type { Scenario, FaultRule, FaultKind } from './scenario.js';
export type { NotificationAttempt } from './notifier.js';

export interface AntomSandboxOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: the admin API has no authentication. */
  host?: string;
  /** Fixes generated ids, latencies and probabilistic faults. Default 1. */
  seed?: number;
  /** The merchant's public key (base64 SPKI or PEM): every request must verify with it. */
  merchantPublicKey: string;
  /** The sandbox's own private key (base64 PKCS#8 or PEM); generated when absent. */
  sandboxPrivateKey?: string;
  /** Where notifyRefund is pushed when a refund becomes final; no pushes without it. */
  notifyUrl?: string;
  /** Antom time runs this many times faster than real time (pending time, notify retries). Default 1. */
  timeScale?: number;
  /** Played for inquiries about ids nobody created; `not-found` (default) answers ORDER_NOT_EXIST. */
  defaultScenario?: Scenario | 'not-found';
  /** When set, requests from another client id are refused with CLIENT_INVALID. */
  clientId?: string;
  /** keyVersion written in the sandbox's signatures. Default 1. */
  keyVersion?: string;
  /** Default `antom` (the production resend schedule). */
  notifyRetries?: NotifyRetryMode;
  /** Epoch ms, for Response-Time, refundTime and pending time. Default Date.now. */
  now?: () => number;
  logger?: Logger;
}

export type SandboxRefundStatus = 'PROCESSING' | 'SUCCESS' | 'FAIL';

export interface SandboxRefundView {
  readonly refundId: string;
  readonly refundRequestId: string;
  readonly paymentId: string;
  readonly refundAmount: { currency: string; value: string };
  readonly status: SandboxRefundStatus;
  readonly final: 'SUCCESS' | 'FAIL' | 'PENDING';
  readonly failCode?: string;
  readonly createdAt: string;
  readonly finalizedAt?: string;
  readonly refundTime?: string;
  readonly inquiries: number;
}

export interface InquiryRecord {
  /** 1-based, per refund. */
  readonly n: number;
  readonly at: string;
  readonly api: SandboxApi;
  readonly path: string;
  readonly clientId: string;
  /** The refund status answered (PROCESSING / SUCCESS / FAIL), a fault kind, or a result code. */
  readonly answer: string;
  readonly httpStatus: number;
  readonly resultCode?: string;
}

export interface SandboxSeen {
  readonly refund?: SandboxRefundView;
  readonly inquiries: readonly InquiryRecord[];
  readonly notifications: readonly NotificationAttempt[];
}

export interface SandboxStats {
  readonly refunds: number;
  readonly inquiries: number;
  /** TCP connections accepted so far: with keep-alive, far fewer than requests. */
  readonly connections: number;
  /** Count per answer label (PROCESSING, SUCCESS, FAIL, a fault kind, or a refusal code). */
  readonly answers: Readonly<Record<string, number>>;
  readonly notifications: { readonly attempts: number; readonly acknowledged: number; readonly pending: number };
}

export interface AntomSandbox {
  /** `http://host:port`: ANTOM_BASE_URL. */
  readonly url: string;
  readonly port: number;
  /** The sandbox's public key, base64 SPKI DER: ANTOM_PUBLIC_KEY. */
  readonly publicKey: string;
  readonly seed: number;
  createRefund(scenario?: Scenario): SandboxRefundView;
  createRefunds(scenarios: readonly Scenario[]): SandboxRefundView[];
  seen(refundId: string): SandboxSeen;
  notifications(filter?: { refundId?: string; limit?: number }): NotificationAttempt[];
  stats(): SandboxStats;
  /** The settings that point refund-notifier at this sandbox. */
  serviceEnv(api?: SandboxApi): Record<string, string>;
  /**
   * While set, every inquiry, about any refund, is answered with this fault (`inquiries` and
   * `probability` ignored): Antom, or the gateway before it, down for a while. `undefined` ends it.
   */
  setOutage(fault: FaultRule | undefined): void;
  close(): Promise<void>;
}

export class SandboxInputError extends Error {
  readonly problems: readonly string[];
  readonly status: number;
  constructor(problems: readonly string[], status = 400) {
    super(problems.join('; '));
    this.name = 'SandboxInputError';
    this.problems = problems;
    this.status = status;
  }
}

/** Used in notifications when no request has told us the merchant's client id yet. */
export const DEFAULT_SANDBOX_CLIENT_ID = 'SANDBOX_REFUND_NOTIFIER';

const INQUIRY_PATHS: ReadonlyMap<string, SandboxApi> = new Map([
  ['/ams/api/v1/payments/inquiryRefund', 'v1'],
  ['/ams/sandbox/api/v1/payments/inquiryRefund', 'v1'],
  // The omnichannel API overview gives v2 URLs as https://host/openapi/v2/... (docs/antom.md):
  // only that path is served, so a client asking elsewhere meets NO_INTERFACE_DEF, as at Antom.
  ['/openapi/v2/payments/inquiryRefund', 'v2'],
]);
const REFUND_PATHS: ReadonlyMap<string, SandboxApi> = new Map([
  ['/ams/api/v1/payments/refund', 'v1'],
  ['/ams/sandbox/api/v1/payments/refund', 'v1'],
  ['/openapi/v2/payments/refund', 'v2'],
]);

/** Antom requests are small JSON documents; 64 KiB is far above any of them. */
const MAX_API_BODY = 64 * 1024;
/** The admin API takes bulk creations: 20,000 scenarios of ~200 bytes fit well under 32 MiB. */
const MAX_ADMIN_BODY = 32 * 1024 * 1024;
/** Inquiries remembered for ids that do not exist; bounded so a load test cannot exhaust memory. */
const MAX_UNKNOWN_IDS = 10_000;
const DEFAULT_CURRENCY = 'USD';

interface SimRefund {
  readonly refundId: string;
  readonly refundRequestId: string;
  readonly paymentId: string;
  readonly refundAmount: { currency: string; value: string };
  readonly scenario: Scenario;
  readonly createdAt: number;
  /** Real epoch ms from which it may be final (pendingMs / timeScale after creation). */
  readonly finalNotBefore: number;
  status: SandboxRefundStatus;
  finalizedAt?: number;
  notifyUrl?: string;
  /** The merchant's client id, as last seen on a request about this refund. */
  clientId?: string;
  inquiries: InquiryRecord[];
  notifications: NotificationAttempt[];
  timer?: NodeJS.Timeout;
}

type Reply =
  | { kind: 'json'; body: Record<string, unknown>; signing: 'signed' | 'unsigned' | 'forged'; malformed?: boolean }
  | { kind: 'http-error'; status: number; retryAfterSeconds?: number };

export async function startAntomSandbox(options: AntomSandboxOptions): Promise<AntomSandbox> {
  const seed = options.seed ?? 1;
  const timeScale = options.timeScale ?? 1;
  if (!(timeScale > 0)) throw new SandboxInputError([`timeScale must be > 0, got ${timeScale}`]);
  const now = options.now ?? Date.now;
  const keyVersion = options.keyVersion ?? '1';
  const logger = options.logger?.child({ component: 'antom-sandbox' });
  const random = createSeededRandom(seed);
  const merchantKey = keyOrThrow(() => readPublicKey(options.merchantPublicKey), 'merchant public key', 'a base64 SPKI or PEM public key');
  const keys = keyOrThrow(() => sandboxKeys(options.sandboxPrivateKey), 'sandbox private key', 'a base64 PKCS#8 or PEM private key');
  // Signs "forged" answers: a real RSA signature, from a key the service was never given. Made on
  // first use: an RSA-2048 key costs tens of milliseconds, and most runs never forge.
  let forgerKey: KeyObject | undefined;
  const defaultScenario = options.defaultScenario ?? 'not-found';
  let outage: FaultRule | undefined;
  if (defaultScenario !== 'not-found') assertScenario(defaultScenario);

  const byRefundId = new Map<string, SimRefund>();
  const byRequestId = new Map<string, SimRefund>();
  const unknownInquiries = new Map<string, InquiryRecord[]>();
  const allNotifications: NotificationAttempt[] = [];
  const answers: Record<string, number> = {};
  const pendingTimers = new Set<NodeJS.Timeout>();
  let created = 0;
  let inquiryCount = 0;
  let connections = 0;
  let acknowledged = 0;
  let closing: Promise<void> | undefined;

  const notifier = createNotifier({
    privateKey: keys.privateKey,
    keyVersion,
    timeScale,
    retries: options.notifyRetries ?? 'antom',
    now,
    ...(logger ? { logger } : {}),
    onAttempt(attempt) {
      allNotifications.push(attempt);
      byRefundId.get(attempt.refundId)?.notifications.push(attempt);
      if (attempt.acknowledged) acknowledged += 1;
    },
  });

  // ---- refunds and their timeline ------------------------------------------------------------

  function assertScenario(scenario: unknown): Scenario {
    const parsed = parseScenario(scenario);
    if (!parsed.ok) throw new SandboxInputError(parsed.problems);
    return parsed.scenario;
  }

  function addRefund(
    input: Scenario,
    ids: { refundId?: string; refundRequestId?: string; clientId?: string } = {},
  ): SimRefund {
    const scenario = assertScenario(input);
    created += 1;
    const n = created;
    // Antom's refund ids are long digit strings; the counter keeps generated ones unique.
    const refundId =
      ids.refundId ??
      scenario.refundId ??
      `2026${String(random.between(0, 999_999_999, 'refundId', n)).padStart(9, '0')}${String(n).padStart(8, '0')}`;
    const refundRequestId = ids.refundRequestId ?? scenario.refundRequestId ?? `rr-${random.hex(8, 'refundRequestId', n)}-${n}`;
    if (byRefundId.has(refundId)) throw new SandboxInputError([`refundId ${refundId} already exists`], 409);
    if (byRequestId.has(refundRequestId)) throw new SandboxInputError([`refundRequestId ${refundRequestId} already exists`], 409);
    const createdAt = now();
    const refund: SimRefund = {
      refundId,
      refundRequestId,
      paymentId: scenario.paymentId ?? `pay-${random.hex(12, 'paymentId', n)}`,
      refundAmount: scenario.refundAmount ?? { currency: DEFAULT_CURRENCY, value: String(random.between(100, 50_000, 'amount', n)) },
      scenario,
      createdAt,
      finalNotBefore: createdAt + (scenario.pendingMs ?? 0) / timeScale,
      status: 'PROCESSING',
      inquiries: [],
      notifications: [],
      ...((scenario.notifyUrl ?? options.notifyUrl) === undefined ? {} : { notifyUrl: scenario.notifyUrl ?? options.notifyUrl }),
      ...(ids.clientId === undefined ? {} : { clientId: ids.clientId }),
    };
    byRefundId.set(refundId, refund);
    byRequestId.set(refundRequestId, refund);
    // A refund pending for time only ends by itself (and notifies) without being asked about.
    if ((scenario.pendingInquiries ?? 0) === 0 && (scenario.final ?? 'SUCCESS') !== 'PENDING') {
      const wait = refund.finalNotBefore - createdAt;
      if (wait <= 0) settle(refund, 0);
      else {
        refund.timer = setTimeout(() => {
          pendingTimers.delete(refund.timer as NodeJS.Timeout);
          settle(refund, 0);
        }, wait);
        pendingTimers.add(refund.timer);
      }
    }
    return refund;
  }

  /** Moves the refund to its final status when both its inquiry count and its time allow. */
  function settle(refund: SimRefund, inquiries: number): void {
    if (refund.status !== 'PROCESSING') return;
    const final = refund.scenario.final ?? 'SUCCESS';
    if (final === 'PENDING') return;
    if (inquiries < (refund.scenario.pendingInquiries ?? 0)) return;
    if (now() < refund.finalNotBefore) return;
    refund.status = final;
    refund.finalizedAt = now();
    if (refund.timer) {
      clearTimeout(refund.timer);
      pendingTimers.delete(refund.timer);
    }
    if (refund.notifyUrl && refund.scenario.notify !== false) {
      notifier.deliver(
        refund.refundId,
        refund.notifyUrl,
        refund.clientId ?? options.clientId ?? DEFAULT_SANDBOX_CLIENT_ID,
        JSON.stringify(notificationBody(refund)),
        final,
      );
    }
  }

  function failCodeOf(refund: SimRefund): string {
    return refund.scenario.failCode ?? 'PROCESS_FAIL';
  }

  function notificationBody(refund: SimRefund): Record<string, unknown> {
    const success = refund.status === 'SUCCESS';
    const code = success ? 'SUCCESS' : failCodeOf(refund);
    return {
      notifyType: 'REFUND_RESULT',
      result: { resultCode: code, resultStatus: success ? 'S' : 'F', resultMessage: messageFor(code) },
      refundStatus: refund.status,
      refundRequestId: refund.refundRequestId,
      refundId: refund.refundId,
      refundAmount: refund.refundAmount,
      ...(success ? { refundTime: isoTime(refund.finalizedAt ?? now()) } : {}),
      ...(refund.scenario.metadata === undefined ? {} : { metadata: refund.scenario.metadata }),
    };
  }

  function view(refund: SimRefund): SandboxRefundView {
    const failCode = refund.scenario.final === 'FAIL' ? failCodeOf(refund) : undefined;
    return {
      refundId: refund.refundId,
      refundRequestId: refund.refundRequestId,
      paymentId: refund.paymentId,
      refundAmount: refund.refundAmount,
      status: refund.status,
      final: refund.scenario.final ?? 'SUCCESS',
      createdAt: isoTime(refund.createdAt),
      inquiries: refund.inquiries.length,
      ...(failCode === undefined ? {} : { failCode }),
      ...(refund.finalizedAt === undefined ? {} : { finalizedAt: isoTime(refund.finalizedAt) }),
      ...(refund.status === 'SUCCESS' && refund.finalizedAt !== undefined ? { refundTime: isoTime(refund.finalizedAt) } : {}),
    };
  }

  // ---- answers -------------------------------------------------------------------------------

  function result(api: SandboxApi, code: string, status: 'S' | 'F' | 'U', message?: string) {
    const spelled = codeFor(api, code);
    return { resultCode: spelled, resultStatus: status, resultMessage: message ?? messageFor(spelled) };
  }

  function failure(api: SandboxApi, code: string, message?: string, status: 'F' | 'U' = 'F'): Reply {
    return { kind: 'json', body: { result: result(api, code, status, message) }, signing: 'signed' };
  }

  /**
   * The straight answer about a refund in its current state (docs/antom.md, "Two APIs called
   * inquiryRefund").
   */
  function statusAnswer(api: SandboxApi, refund: SimRefund): Record<string, unknown> {
    if (refund.status === 'FAIL' && refund.scenario.failureReporting === 'result-code') {
      return { result: result(api, failCodeOf(refund), 'F') };
    }
    const ok = result(api, 'SUCCESS', 'S', 'success');
    const refundStatus = refundStatusFor(api, refund.status);
    const refundTime = refund.status === 'SUCCESS' ? { refundTime: isoTime(refund.finalizedAt ?? now()) } : {};
    if (api === 'v2') {
      // resultCode is optional in the v2 spec: every other refund's answers leave it out, so a
      // client that requires it is caught by any test with more than one refund.
      const { resultCode: _omitted, ...withoutCode } = ok;
      const answerResult = hashOf(refund.refundId) % 2 === 0 ? ok : withoutCode;
      return { refundId: refund.refundId, result: answerResult, refundStatus, ...refundTime, paymentId: refund.paymentId };
    }
    return {
      result: ok,
      refundId: refund.refundId,
      refundRequestId: refund.refundRequestId,
      refundAmount: refund.refundAmount,
      refundStatus,
      ...refundTime,
    };
  }

  function faultReply(api: SandboxApi, refund: SimRefund, fault: FaultRule): Reply {
    switch (fault.kind) {
      case 'http-error':
        return {
          kind: 'http-error',
          status: fault.httpStatus ?? 503,
          ...(fault.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: fault.retryAfterSeconds }),
        };
      case 'unknown-exception':
        return failure(api, 'UNKNOWN_EXCEPTION', undefined, 'U');
      case 'traffic-limit':
        return failure(api, 'REQUEST_TRAFFIC_EXCEED_LIMIT', undefined, 'U');
      case 'result-code':
        return failure(api, fault.resultCode ?? 'UNKNOWN_EXCEPTION', fault.resultMessage, fault.resultStatus ?? 'F');
      case 'unsigned-error':
        return {
          kind: 'json',
          body: { result: result(api, fault.resultCode ?? 'UNKNOWN_EXCEPTION', fault.resultStatus ?? 'U', fault.resultMessage) },
          signing: 'unsigned',
        };
      case 'unsigned':
        return { kind: 'json', body: statusAnswer(api, refund), signing: 'unsigned' };
      case 'forged-signature':
        return { kind: 'json', body: statusAnswer(api, refund), signing: 'forged' };
      case 'malformed-json':
        return { kind: 'json', body: statusAnswer(api, refund), signing: 'signed', malformed: true };
      case 'hang':
        // The hang itself is played by the caller; after it, the answer is the normal one.
        return { kind: 'json', body: statusAnswer(api, refund), signing: 'signed' };
    }
  }

  function send(req: IncomingMessage, res: ServerResponse, clientId: string, reply: Reply): void {
    void sendAsync(req, res, clientId, reply).catch((err: unknown) => {
      logger?.error({ err }, 'sandbox answer failed');
      res.destroy();
    });
  }

  async function sendAsync(req: IncomingMessage, res: ServerResponse, clientId: string, reply: Reply): Promise<void> {
    if (res.destroyed || res.writableEnded) return;
    if (reply.kind === 'http-error') {
      const text = `<html><body><h1>${reply.status} ${httpReason(reply.status)}</h1></body></html>`;
      res.writeHead(reply.status, {
        'content-type': 'text/html',
        'content-length': Buffer.byteLength(text),
        ...(reply.retryAfterSeconds === undefined ? {} : { 'retry-after': String(reply.retryAfterSeconds) }),
      });
      res.end(text);
      return;
    }
    let text = JSON.stringify(reply.body);
    // Cut inside the first string value: not JSON any more, and signed as it is sent.
    if (reply.malformed) text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
    const body = Buffer.from(text, 'utf8');
    const headers: Record<string, string | number> = {
      'content-type': 'application/json; charset=UTF-8',
      'content-length': body.length,
    };
    if (reply.signing !== 'unsigned') {
      const responseTime = isoTime(now());
      const key =
        reply.signing === 'forged'
          ? (forgerKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)
          : keys.privateKey;
      headers['client-id'] = clientId;
      headers['response-time'] = responseTime;
      headers.signature = await signMessageAsync(key, keyVersion, req.url ?? '/', clientId, responseTime, body);
      // The client may have given up while the signature was computed.
      if (res.destroyed || res.writableEnded) return;
    }
    res.writeHead(200, headers);
    res.end(body);
  }

  function count(label: string): void {
    answers[label] = (answers[label] ?? 0) + 1;
  }

  // ---- Antom API ----------------------------------------------------------------------------

  /**
   * The checks every Antom request goes through, in the gateway's order: client, media type,
   * signature, JSON. Returns the parsed body, or the refusal that was sent.
   */
  async function authenticate(
    req: IncomingMessage,
    res: ServerResponse,
    api: SandboxApi,
  ): Promise<{ clientId: string; body: Record<string, unknown> } | undefined> {
    const raw = await readBody(req, MAX_API_BODY);
    const clientId = headerOf(req, 'client-id');
    const refuse = (code: string, message: string): undefined => {
      count(code);
      logger?.debug({ path: req.url, code }, message);
      send(req, res, clientId ?? options.clientId ?? DEFAULT_SANDBOX_CLIENT_ID, failure(api, code, message));
      return undefined;
    };
    if (raw === undefined) return refuse('PARAM_ILLEGAL', `request body over ${MAX_API_BODY} bytes`);
    if (!clientId) return refuse('CLIENT_INVALID', 'client-id header is missing');
    if (options.clientId !== undefined && clientId !== options.clientId) {
      return refuse('CLIENT_INVALID', `unknown client id ${clientId}`);
    }
    if (!/^application\/json\b/i.test(headerOf(req, 'content-type') ?? '')) {
      return refuse('MEDIA_TYPE_NOT_ACCEPTABLE', 'content-type must be application/json');
    }
    const signature = headerOf(req, 'signature');
    const requestTime = headerOf(req, 'request-time');
    if (!signature || !requestTime) return refuse('INVALID_SIGNATURE', 'signature or request-time header is missing');
    const check = checkMessage(merchantKey, signature, req.url ?? '/', clientId, requestTime, raw);
    if (!check.ok) return refuse('INVALID_SIGNATURE', check.problem);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return refuse('PARAM_ILLEGAL', 'request body is not JSON');
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return refuse('PARAM_ILLEGAL', 'request body is not a JSON object');
    }
    return { clientId, body: body as Record<string, unknown> };
  }

  async function handleInquiry(req: IncomingMessage, res: ServerResponse, api: SandboxApi): Promise<void> {
    const auth = await authenticate(req, res, api);
    if (!auth) return;
    const { clientId, body } = auth;
    const refundId = idField(body.refundId);
    const refundRequestId = idField(body.refundRequestId);
    if (refundId === null || refundRequestId === null) {
      count('PARAM_ILLEGAL');
      return send(req, res, clientId, failure(api, 'PARAM_ILLEGAL', 'ids are strings of 1 to 64 characters'));
    }
    if (api === 'v2' && (refundId === undefined || refundRequestId !== undefined || body.merchantAccountId !== undefined)) {
      count('PARAM_ILLEGAL');
      return send(req, res, clientId, failure(api, 'PARAM_ILLEGAL', 'refundId is required, and the only field'));
    }
    if (refundId === undefined && refundRequestId === undefined) {
      count('PARAM_ILLEGAL');
      return send(req, res, clientId, failure(api, 'PARAM_ILLEGAL', 'refundId or refundRequestId is required'));
    }

    // refundId wins when both are given (docs/antom.md, "Two APIs called inquiryRefund").
    let refund = refundId !== undefined ? byRefundId.get(refundId) : byRequestId.get(refundRequestId as string);
    if (!refund && defaultScenario !== 'not-found') {
      refund = addRefund(defaultScenario, refundId !== undefined ? { refundId, clientId } : { refundRequestId: refundRequestId as string, clientId });
    }
    inquiryCount += 1;
    if (!refund) {
      const key = (refundId ?? refundRequestId) as string;
      const n = (unknownInquiries.get(key)?.length ?? 0) + 1;
      const code = codeFor(api, 'ORDER_NOT_EXIST');
      rememberUnknown(key, { n, at: isoTime(now()), api, path: req.url ?? '', clientId, answer: 'ORDER_NOT_EXIST', httpStatus: 200, resultCode: code });
      count('ORDER_NOT_EXIST');
      return send(req, res, clientId, failure(api, 'ORDER_NOT_EXIST'));
    }

    refund.clientId = clientId;
    const n = refund.inquiries.length + 1;
    settle(refund, n - 1);
    const fault = outage ?? pickFault(refund.scenario.faults, n, (index) => random.unit('fault', refund.refundId, n, index));
    const reply = fault ? faultReply(api, refund, fault) : { kind: 'json' as const, body: statusAnswer(api, refund), signing: 'signed' as const };
    const label = fault?.kind ?? (reply.kind === 'json' && isFailureBody(reply.body) ? resultCodeOf(reply.body) : refund.status);
    refund.inquiries.push({
      n,
      at: isoTime(now()),
      api,
      path: req.url ?? '',
      clientId,
      answer: label,
      httpStatus: reply.kind === 'http-error' ? reply.status : 200,
      ...(reply.kind === 'json' ? { resultCode: resultCodeOf(reply.body) } : {}),
    });
    count(label);

    const latency = latencyFor(refund.scenario.latencyMs, refund.refundId, n);
    if (fault?.kind === 'hang') {
      // Holds the socket: the client's own timeout is what ends the exchange.
      if (fault.hangMs !== undefined) later(fault.hangMs + latency, () => send(req, res, clientId, reply));
      return;
    }
    if (latency > 0) later(latency, () => send(req, res, clientId, reply));
    else send(req, res, clientId, reply);
  }

  async function handleRefund(req: IncomingMessage, res: ServerResponse, api: SandboxApi): Promise<void> {
    const auth = await authenticate(req, res, api);
    if (!auth) return;
    const { clientId, body } = auth;
    const refundRequestId = idField(body.refundRequestId);
    const paymentId = idField(body.paymentId);
    const amount = amountField(body.refundAmount);
    if (!refundRequestId || !paymentId || amount === null || (api === 'v1' && amount === undefined)) {
      count('PARAM_ILLEGAL');
      return send(req, res, clientId, failure(api, 'PARAM_ILLEGAL', 'refundRequestId, paymentId and refundAmount are required'));
    }
    const notifyUrl = typeof body.refundNotifyUrl === 'string' ? body.refundNotifyUrl : undefined;
    // refundRequestId is the idempotency key (docs/antom.md, "Refund creation"): same fields, same
    // answer.
    const existing = byRequestId.get(refundRequestId);
    if (existing) {
      const same =
        existing.paymentId === paymentId &&
        (amount === undefined || (existing.refundAmount.currency === amount.currency && existing.refundAmount.value === amount.value));
      if (!same) {
        count('REPEAT_REQ_INCONSISTENT');
        return send(req, res, clientId, failure(api, 'REPEAT_REQ_INCONSISTENT'));
      }
      count('REFUND_ACCEPTED');
      return send(req, res, clientId, { kind: 'json', body: refundAccepted(api, existing), signing: 'signed' });
    }
    const base = defaultScenario === 'not-found' ? {} : defaultScenario;
    let refund: SimRefund;
    try {
      refund = addRefund({
        ...base,
        refundRequestId,
        paymentId,
        ...(amount === undefined ? {} : { refundAmount: amount }),
        ...(notifyUrl === undefined ? {} : { notifyUrl }),
        ...(typeof body.metadata === 'string' ? { metadata: body.metadata } : {}),
      }, { clientId });
    } catch (err) {
      count('PARAM_ILLEGAL');
      return send(req, res, clientId, failure(api, 'PARAM_ILLEGAL', err instanceof Error ? err.message : String(err)));
    }
    refund.clientId = clientId;
    count('REFUND_ACCEPTED');
    send(req, res, clientId, { kind: 'json', body: refundAccepted(api, refund), signing: 'signed' });
  }

  function refundAccepted(api: SandboxApi, refund: SimRefund): Record<string, unknown> {
    const ok = result(api, 'SUCCESS', 'S', 'success');
    if (api === 'v2') return { refundRequestId: refund.refundRequestId, result: ok, refundId: refund.refundId };
    return {
      result: ok,
      refundRequestId: refund.refundRequestId,
      refundId: refund.refundId,
      paymentId: refund.paymentId,
      refundAmount: refund.refundAmount,
      ...(refund.status === 'SUCCESS' ? { refundTime: isoTime(refund.finalizedAt ?? now()) } : {}),
    };
  }

  // ---- admin API ------------------------------------------------------------------------------

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, pathname: string, query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    if (pathname === '/sandbox/refunds' && method === 'POST') {
      const raw = await readBody(req, MAX_ADMIN_BODY);
      if (raw === undefined) return json(res, 413, { error: `body over ${MAX_ADMIN_BODY} bytes` });
      let input: unknown;
      try {
        input = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
      } catch {
        return json(res, 400, { error: 'body is not JSON' });
      }
      const list = Array.isArray(input)
        ? input
        : input !== null && typeof input === 'object' && Array.isArray((input as { refunds?: unknown }).refunds)
          ? ((input as { refunds: unknown[] }).refunds)
          : [input];
      try {
        return json(res, 201, { refunds: createMany(list as Scenario[]) });
      } catch (err) {
        if (err instanceof SandboxInputError) return json(res, err.status, { error: 'invalid scenario', problems: err.problems });
        throw err;
      }
    }
    if (pathname.startsWith('/sandbox/refunds/') && method === 'GET') {
      const id = decodeURIComponent(pathname.slice('/sandbox/refunds/'.length));
      const seenNow = seen(id);
      if (!seenNow.refund && seenNow.inquiries.length === 0) return json(res, 404, { error: `no refund ${id}` });
      return json(res, 200, seenNow);
    }
    if (pathname === '/sandbox/notifications' && method === 'GET') {
      const refundId = query.get('refundId') ?? undefined;
      const limit = query.has('limit') ? Number(query.get('limit')) : undefined;
      return json(res, 200, { notifications: notifications({ ...(refundId ? { refundId } : {}), ...(limit ? { limit } : {}) }) });
    }
    if (pathname === '/sandbox/stats' && method === 'GET') return json(res, 200, stats());
    if (pathname === '/sandbox/info' && method === 'GET') {
      return json(res, 200, { url: sandbox.url, publicKey: keys.publicKeyBase64, seed, timeScale, serviceEnv: serviceEnv() });
    }
    return json(res, 404, { error: `no admin route ${method} ${pathname}` });
  }

  /** All or nothing: a bulk creation with one bad scenario creates none. */
  function createMany(scenarios: readonly Scenario[]): SandboxRefundView[] {
    const problems: string[] = [];
    const ids = new Set<string>();
    scenarios.forEach((s, i) => {
      const parsed = parseScenario(s);
      if (!parsed.ok) problems.push(...parsed.problems.map((p) => `[${i}] ${p}`));
      else {
        for (const id of [parsed.scenario.refundId, parsed.scenario.refundRequestId]) {
          if (id === undefined) continue;
          if (ids.has(id) || byRefundId.has(id) || byRequestId.has(id)) problems.push(`[${i}] id ${id} already exists`);
          ids.add(id);
        }
      }
    });
    if (problems.length > 0) throw new SandboxInputError(problems);
    return scenarios.map((s) => view(addRefund(s)));
  }

  function seen(refundId: string): SandboxSeen {
    const refund = byRefundId.get(refundId) ?? byRequestId.get(refundId);
    if (!refund) return { inquiries: unknownInquiries.get(refundId) ?? [], notifications: [] };
    return { refund: view(refund), inquiries: [...refund.inquiries], notifications: [...refund.notifications] };
  }

  function notifications(filter: { refundId?: string; limit?: number } = {}): NotificationAttempt[] {
    const list = filter.refundId === undefined ? allNotifications : (byRefundId.get(filter.refundId)?.notifications ?? []);
    return filter.limit === undefined ? [...list] : list.slice(-filter.limit);
  }

  function stats(): SandboxStats {
    return {
      refunds: byRefundId.size,
      inquiries: inquiryCount,
      connections,
      answers: { ...answers },
      notifications: { attempts: allNotifications.length, acknowledged, pending: notifier.pending() },
    };
  }

  function serviceEnv(api: SandboxApi = 'v2'): Record<string, string> {
    return {
      ANTOM_BASE_URL: sandbox.url,
      ANTOM_API: api,
      ANTOM_PUBLIC_KEY: keys.publicKeyBase64,
      ANTOM_CLIENT_ID: options.clientId ?? DEFAULT_SANDBOX_CLIENT_ID,
    };
  }

  function rememberUnknown(key: string, record: InquiryRecord): void {
    const list = unknownInquiries.get(key);
    if (list) list.push(record);
    else if (unknownInquiries.size < MAX_UNKNOWN_IDS) unknownInquiries.set(key, [record]);
  }

  function later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      pendingTimers.delete(timer);
      fn();
    }, ms);
    pendingTimers.add(timer);
  }

  function latencyFor(latency: Scenario['latencyMs'], refundId: string, n: number): number {
    if (latency === undefined) return 0;
    if (typeof latency === 'number') return latency;
    return random.between(latency[0], latency[1], 'latency', refundId, n);
  }

  // ---- the server -----------------------------------------------------------------------------

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const pathname = url.pathname;
    const handle = async (): Promise<void> => {
      if (pathname.startsWith('/sandbox/')) return handleAdmin(req, res, pathname, url.searchParams);
      const inquiryApi = INQUIRY_PATHS.get(pathname);
      const refundApi = REFUND_PATHS.get(pathname);
      const api = inquiryApi ?? refundApi;
      if (api !== undefined && req.method !== 'POST') {
        count('METHOD_NOT_SUPPORTED');
        req.resume();
        return send(req, res, headerOf(req, 'client-id') ?? DEFAULT_SANDBOX_CLIENT_ID, failure(api, 'METHOD_NOT_SUPPORTED'));
      }
      if (inquiryApi) return handleInquiry(req, res, inquiryApi);
      if (refundApi) return handleRefund(req, res, refundApi);
      if (req.method === 'POST' && /^\/(ams|v\d|openapi)\//.test(pathname)) {
        // An Antom-looking path that is not served: what the gateway says for an unknown API.
        req.resume();
        const pathApi: SandboxApi = pathname.includes('/v2/') ? 'v2' : 'v1';
        count('NO_INTERFACE_DEF');
        return send(req, res, headerOf(req, 'client-id') ?? DEFAULT_SANDBOX_CLIENT_ID, failure(pathApi, 'NO_INTERFACE_DEF'));
      }
      req.resume();
      json(res, 404, { error: `not found: ${req.method} ${pathname}` });
    };
    handle().catch((err: unknown) => {
      logger?.error({ err, path: pathname }, 'sandbox request failed');
      if (!res.headersSent) json(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });

  server.on('connection', () => {
    connections += 1;
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const displayHost = host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host;

  const sandbox: AntomSandbox = {
    url: `http://${displayHost}:${address.port}`,
    port: address.port,
    publicKey: keys.publicKeyBase64,
    seed,
    createRefund: (scenario = {}) => view(addRefund(scenario)),
    createRefunds: (scenarios) => createMany(scenarios),
    seen,
    notifications,
    stats,
    serviceEnv,
    setOutage(fault) {
      outage = fault;
    },
    close() {
      closing ??= (async () => {
        for (const timer of pendingTimers) clearTimeout(timer);
        pendingTimers.clear();
        await notifier.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Hung inquiries and idle keep-alive sockets would hold close() open indefinitely.
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
  logger?.info({ url: sandbox.url, seed, timeScale }, 'Antom sandbox listening');
  return sandbox;
}

// ---- helpers ---------------------------------------------------------------------------------

function keyOrThrow<T>(load: () => T, what: string, expected: string): T {
  try {
    return load();
  } catch (err) {
    throw new SandboxInputError([`the ${what} is not ${expected} (${(err as Error).message})`]);
  }
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** undefined when absent, null when present but not a valid id. */
function idField(value: unknown): string | undefined | null {
  if (value === undefined) return undefined;
  return typeof value === 'string' && value.length > 0 && value.length <= 64 ? value : null;
}

function amountField(value: unknown): { currency: string; value: string } | undefined | null {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') return null;
  const { currency, value: amount } = value as { currency?: unknown; value?: unknown };
  if (typeof currency !== 'string' || currency.length !== 3) return null;
  if (typeof amount === 'string' && /^\d+$/.test(amount)) return { currency, value: amount };
  if (typeof amount === 'number' && Number.isInteger(amount) && amount >= 0) return { currency, value: String(amount) };
  return null;
}

function isFailureBody(body: Record<string, unknown>): boolean {
  return (body.result as { resultStatus?: string } | undefined)?.resultStatus !== 'S';
}

function resultCodeOf(body: Record<string, unknown>): string {
  return String((body.result as { resultCode?: string } | undefined)?.resultCode ?? '');
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function httpReason(status: number): string {
  const reasons: Record<number, string> = {
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout',
  };
  return reasons[status] ?? 'Error';
}

/** A small stable hash of an id (FNV-1a), for choices that must not change between runs. */
function hashOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
