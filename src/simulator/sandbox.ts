import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createAdminApi } from './admin-api.js';
import { createAntomGateway, DEFAULT_SANDBOX_CLIENT_ID } from './antom-gateway.js';
import { createAntomRoutes } from './antom-routes.js';
import { json } from './http-io.js';
import { SandboxInputError } from './input-error.js';
import { createNotifier, type NotificationAttempt, type NotifyRetryMode } from './notifier.js';
import { createSeededRandom } from './random.js';
import { createRefundWorld, type SandboxSeen } from './refund-world.js';
import type { SandboxRefundView } from './refund.js';
import type { FaultRule, SandboxApi, Scenario } from './scenario.js';
import { readPublicKey, sandboxKeys } from './signing.js';
import { createTimers } from './timers.js';

/**
 * The Antom sandbox (docs/antom.md, "The Antom sandbox"): a real HTTP server that answers like
 * Antom. This file only assembles it; the parts are the refund world (refund-world.ts,
 * refund-store.ts, refund-answers.ts), the gateway that authenticates requests and signs answers
 * (antom-gateway.ts), the documented paths (antom-routes.ts) and the admin API (admin-api.ts).
 */

export type { Scenario, FaultRule, FaultKind } from './scenario.js';
export type { NotificationAttempt } from './notifier.js';
export type { InquiryRecord, SandboxRefundStatus, SandboxRefundView } from './refund.js';
export type { SandboxSeen } from './refund-world.js';
export { SandboxInputError } from './input-error.js';

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

export async function startAntomSandbox(options: AntomSandboxOptions): Promise<AntomSandbox> {
  const seed = options.seed ?? 1;
  const timeScale = options.timeScale ?? 1;
  if (!(timeScale > 0)) throw new SandboxInputError([`timeScale must be > 0, got ${timeScale}`]);
  const now = options.now ?? Date.now;
  const keyVersion = options.keyVersion ?? '1';
  const logger = options.logger?.child({ component: 'antom-sandbox' });
  const merchantKey = keyOrThrow(() => readPublicKey(options.merchantPublicKey), 'merchant public key', 'a base64 SPKI or PEM public key');
  const keys = keyOrThrow(() => sandboxKeys(options.sandboxPrivateKey), 'sandbox private key', 'a base64 PKCS#8 or PEM private key');
  const timers = createTimers();
  const answers: Record<string, number> = {};
  const count = (label: string): void => {
    answers[label] = (answers[label] ?? 0) + 1;
  };
  let connections = 0;
  let closing: Promise<void> | undefined;

  const notifier = createNotifier({
    privateKey: keys.privateKey,
    keyVersion,
    timeScale,
    retries: options.notifyRetries ?? 'antom',
    now,
    ...(logger ? { logger } : {}),
    onAttempt: (attempt) => world.recordNotification(attempt),
  });
  const world = createRefundWorld({
    random: createSeededRandom(seed),
    now,
    timeScale,
    later: timers.later,
    defaultScenario: options.defaultScenario ?? 'not-found',
    notifyUrl: options.notifyUrl,
    notifyClientId: options.clientId ?? DEFAULT_SANDBOX_CLIENT_ID,
    deliver: (n) => notifier.deliver(n.refundId, n.url, n.clientId, n.body, n.refundStatus),
  });
  const gateway = createAntomGateway({ merchantKey, privateKey: keys.privateKey, keyVersion, clientId: options.clientId, now, count, logger });
  const antomRoutes = createAntomRoutes({ gateway, world, count, later: timers.later });
  const admin = createAdminApi({
    world,
    stats,
    info: () => ({ url: sandbox.url, publicKey: keys.publicKeyBase64, seed, timeScale, serviceEnv: serviceEnv() }),
  });

  function stats(): SandboxStats {
    const { refunds, inquiries, notificationAttempts, acknowledged } = world.counts();
    return {
      refunds,
      inquiries,
      connections,
      answers: { ...answers },
      notifications: { attempts: notificationAttempts, acknowledged, pending: notifier.pending() },
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

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const pathname = url.pathname;
    const handled = pathname.startsWith('/sandbox/')
      ? admin.handle(req, res, pathname, url.searchParams)
      : antomRoutes.handle(req, res, pathname);
    handled.catch((err: unknown) => {
      logger?.error({ err, path: pathname }, 'sandbox request failed');
      if (!res.headersSent) json(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });
  server.on('connection', () => {
    connections += 1;
  });
  const address = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');

  const sandbox: AntomSandbox = {
    url: address.url,
    port: address.port,
    publicKey: keys.publicKeyBase64,
    seed,
    createRefund: (scenario) => world.createRefund(scenario),
    createRefunds: (scenarios) => world.createRefunds(scenarios),
    seen: (refundId) => world.seen(refundId),
    notifications: (filter) => world.notifications(filter),
    stats,
    serviceEnv,
    setOutage: (fault) => world.setOutage(fault),
    close() {
      closing ??= (async () => {
        timers.clear();
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

async function listen(server: Server, port: number, host: string): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const displayHost = shown === '0.0.0.0' || shown === '[::]' ? '127.0.0.1' : shown;
  return { url: `http://${displayHost}:${address.port}`, port: address.port };
}

function keyOrThrow<T>(load: () => T, what: string, expected: string): T {
  try {
    return load();
  } catch (err) {
    throw new SandboxInputError([`the ${what} is not ${expected} (${(err as Error).message})`]);
  }
}
