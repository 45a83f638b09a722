import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { headerOf, readBody } from './http-io.js';
import { failure, type Reply } from './refund-answers.js';
import { isoTime } from './refund.js';
import type { SandboxApi } from './scenario.js';
import { checkMessage, signMessageAsync } from './signing.js';

/**
 * What Antom's gateway does around every API call: it checks who is asking and that the request
 * is signed by them, refuses what fails (CLIENT_INVALID, MEDIA_TYPE_NOT_ACCEPTABLE,
 * INVALID_SIGNATURE, PARAM_ILLEGAL), and signs what it answers.
 */

/** Used in answers and notifications when no request has told us the merchant's client id yet. */
export const DEFAULT_SANDBOX_CLIENT_ID = 'SANDBOX_REFUND_NOTIFIER';

/** Antom requests are small JSON documents; 64 KiB is far above any of them. */
const MAX_API_BODY = 64 * 1024;

export interface AntomGatewayOptions {
  /** The merchant's public key: every request must verify with it. */
  merchantKey: KeyObject;
  /** The sandbox's own key, which signs every answer. */
  privateKey: KeyObject;
  /** keyVersion written in the sandbox's signatures. */
  keyVersion: string;
  /** When set, requests from another client id are refused with CLIENT_INVALID. */
  clientId?: string;
  /** Epoch ms, for Response-Time. */
  now: () => number;
  /** Counts an answer under its label (stats). */
  count: (label: string) => void;
  logger?: Logger;
}

export interface AuthenticatedRequest {
  readonly clientId: string;
  readonly body: Record<string, unknown>;
}

export interface AntomGateway {
  /** The parsed body of a request that passed every check, or undefined once a refusal is sent. */
  authenticate(req: IncomingMessage, res: ServerResponse, api: SandboxApi): Promise<AuthenticatedRequest | undefined>;
  /** Writes the reply, signed as it asks; a reply for a client that has gone is dropped. */
  send(req: IncomingMessage, res: ServerResponse, clientId: string, reply: Reply): void;
}

export function createAntomGateway(options: AntomGatewayOptions): AntomGateway {
  const { logger } = options;
  // Signs "forged" answers: a real RSA signature, from a key the service was never given. Made on
  // first use: an RSA-2048 key costs tens of milliseconds, and most runs never forge.
  let forgerKey: KeyObject | undefined;

  function send(req: IncomingMessage, res: ServerResponse, clientId: string, reply: Reply): void {
    void sendAsync(req, res, clientId, reply).catch((err: unknown) => {
      logger?.error({ err }, 'sandbox answer failed');
      res.destroy();
    });
  }

  async function sendAsync(req: IncomingMessage, res: ServerResponse, clientId: string, reply: Reply): Promise<void> {
    if (res.destroyed || res.writableEnded) return;
    if (reply.kind === 'http-error') return sendHttpError(res, reply.status, reply.retryAfterSeconds);
    let text = JSON.stringify(reply.body);
    // Cut inside the first string value: not JSON any more, and signed as it is sent.
    if (reply.malformed) text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
    const body = Buffer.from(text, 'utf8');
    const headers: Record<string, string | number> = {
      'content-type': 'application/json; charset=UTF-8',
      'content-length': body.length,
    };
    if (reply.signing !== 'unsigned') {
      const responseTime = isoTime(options.now());
      const key =
        reply.signing === 'forged'
          ? (forgerKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)
          : options.privateKey;
      headers['client-id'] = clientId;
      headers['response-time'] = responseTime;
      headers.signature = await signMessageAsync(key, options.keyVersion, req.url ?? '/', clientId, responseTime, body);
      // The client may have given up while the signature was computed.
      if (res.destroyed || res.writableEnded) return;
    }
    res.writeHead(200, headers);
    res.end(body);
  }

  /**
   * The checks every Antom request goes through, in the gateway's order: client, media type,
   * signature, JSON. Returns the parsed body, or undefined once the refusal is sent.
   */
  async function authenticate(req: IncomingMessage, res: ServerResponse, api: SandboxApi): Promise<AuthenticatedRequest | undefined> {
    const raw = await readBody(req, MAX_API_BODY);
    const clientId = headerOf(req, 'client-id');
    const refuse = (code: string, message: string): undefined => {
      options.count(code);
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
    const check = checkMessage(options.merchantKey, signature, req.url ?? '/', clientId, requestTime, raw);
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

  return { authenticate, send };
}

/** What a gateway in front of Antom answers when it fails: unsigned, HTML. */
function sendHttpError(res: ServerResponse, status: number, retryAfterSeconds: number | undefined): void {
  const text = `<html><body><h1>${status} ${httpReason(status)}</h1></body></html>`;
  res.writeHead(status, {
    'content-type': 'text/html',
    'content-length': Buffer.byteLength(text),
    ...(retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) }),
  });
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
