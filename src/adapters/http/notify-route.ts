import type { KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { NotificationResult } from '../../app/receive-notification.js';
import type { RefundNotification } from '../../domain/inquiry.js';
import { NOTIFY_ACK_BODY, verifyNotifyRequest } from '../antom/notify.js';

/**
 * POST ${ANTOM_NOTIFY_PATH}: Antom's notifyRefund. A bad or missing signature gets 401 and
 * changes nothing; a good one is recorded, then acknowledged with Antom's fixed body (unsigned,
 * as the docs say). Anything else (refund not tracked yet, store down) is not acknowledged, so
 * Antom sends it again on its retry schedule.
 */
export function createNotifyRoute(deps: {
  /** Antom's public key, and during a key rotation the next one too. */
  antomPublicKey: KeyObject | string | ReadonlyArray<KeyObject | string>;
  clientId?: string;
  receive: (n: RefundNotification) => Promise<NotificationResult>;
  logger: Logger;
  counters?: { received: number; rejected: number };
}) {
  const log = deps.logger.child({ component: 'notify-http' });
  return async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const verified = verifyNotifyRequest({
      path: req.url ?? '/',
      headers: req.headers,
      rawBody: body,
      antomPublicKey: deps.antomPublicKey,
      clientId: deps.clientId || undefined,
    });
    if (!verified.ok) {
      if (deps.counters) deps.counters.rejected += 1;
      log.warn({ reason: verified.reason, status: verified.status, remote: req.socket.remoteAddress }, 'notification rejected');
      const code = verified.status === 401 ? 'INVALID_SIGNATURE' : 'PARAM_ILLEGAL';
      const text = JSON.stringify({ result: { resultCode: code, resultStatus: 'F', resultMessage: verified.reason } });
      res.writeHead(verified.status, { 'content-type': 'application/json' });
      res.end(text);
      return;
    }
    if (deps.counters) deps.counters.received += 1;
    const result = await deps.receive(verified.notification);
    if (result.status === 'unknown-refund') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ result: { resultCode: 'ORDER_NOT_EXIST', resultStatus: 'F', resultMessage: 'refund not tracked yet' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(NOTIFY_ACK_BODY);
  };
}
