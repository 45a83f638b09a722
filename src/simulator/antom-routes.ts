import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_SANDBOX_CLIENT_ID, type AntomGateway } from './antom-gateway.js';
import { headerOf, json } from './http-io.js';
import { failure } from './refund-answers.js';
import type { RefundWorld } from './refund-world.js';
import type { SandboxApi } from './scenario.js';

/**
 * The documented Antom paths (docs/antom.md, "What it serves"): each request is authenticated by
 * the gateway, its fields checked, then answered by the refund world; any other Antom-looking
 * path meets NO_INTERFACE_DEF.
 */

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

export interface AntomRoutesOptions {
  gateway: AntomGateway;
  world: Pick<RefundWorld, 'inquire' | 'requestRefund'>;
  /** Counts an answer under its label (stats). */
  count: (label: string) => void;
  /** Runs fn after ms of real time (latencies, hangs that end). */
  later: (ms: number, fn: () => void) => void;
}

export interface AntomRoutes {
  /** Answers any request outside the admin API. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void>;
}

export function createAntomRoutes(options: AntomRoutesOptions): AntomRoutes {
  const { gateway, world, count } = options;
  const send = gateway.send;

  async function handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
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
  }

  async function handleInquiry(req: IncomingMessage, res: ServerResponse, api: SandboxApi): Promise<void> {
    const auth = await gateway.authenticate(req, res, api);
    if (!auth) return;
    const { clientId, body } = auth;
    const refundId = idField(body.refundId);
    const refundRequestId = idField(body.refundRequestId);
    const refuse = (message: string): void => {
      count('PARAM_ILLEGAL');
      send(req, res, clientId, failure(api, 'PARAM_ILLEGAL', message));
    };
    if (refundId === null || refundRequestId === null) return refuse('ids are strings of 1 to 64 characters');
    if (api === 'v2' && (refundId === undefined || refundRequestId !== undefined || body.merchantAccountId !== undefined)) {
      return refuse('refundId is required, and the only field');
    }
    if (refundId === undefined && refundRequestId === undefined) return refuse('refundId or refundRequestId is required');

    const outcome = world.inquire({
      api,
      path: req.url ?? '',
      clientId,
      refundId,
      refundRequestId,
    });
    count(outcome.label);
    const { timing } = outcome;
    if (timing.kind === 'now') send(req, res, clientId, outcome.reply);
    else if (timing.kind === 'after') options.later(timing.ms, () => send(req, res, clientId, outcome.reply));
  }

  async function handleRefund(req: IncomingMessage, res: ServerResponse, api: SandboxApi): Promise<void> {
    const auth = await gateway.authenticate(req, res, api);
    if (!auth) return;
    const { clientId, body } = auth;
    const refundRequestId = idField(body.refundRequestId);
    const paymentId = idField(body.paymentId);
    const amount = amountField(body.refundAmount);
    if (!refundRequestId || !paymentId || amount === null || (api === 'v1' && amount === undefined)) {
      count('PARAM_ILLEGAL');
      return send(req, res, clientId, failure(api, 'PARAM_ILLEGAL', 'refundRequestId, paymentId and refundAmount are required'));
    }
    const outcome = world.requestRefund({
      api,
      clientId,
      refundRequestId,
      paymentId,
      refundAmount: amount,
      ...(typeof body.refundNotifyUrl === 'string' ? { notifyUrl: body.refundNotifyUrl } : {}),
      ...(typeof body.metadata === 'string' ? { metadata: body.metadata } : {}),
    });
    count(outcome.label);
    send(req, res, clientId, outcome.reply);
  }

  return { handle };
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
