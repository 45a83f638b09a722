/**
 * The daily digest in the ops channel (docs/notifications.md, "Reminders and the digest"): counts,
 * outbox, stalled refunds. It goes through the outbox under the key `digest:<day>` (the day in
 * DIGEST_TIMEZONE), so a second instance or a restart on the same day writes nothing new, and the
 * dispatcher delivers it with retries like any message.
 */
import { digestContent } from '../../domain/digest.js';
import { dayIn } from '../../domain/job-periods.js';
import type { Clock, RefundStore, SlackPort } from '../ports.js';
import { messageEntry } from './vocabulary.js';

// The digest lists 20 stalled refunds and counts the rest; /admin/refunds?status=stalled lists them all.
const STALLED_LISTED = 20;

export function createDigest(deps: { store: RefundStore; slack: SlackPort; channel: string; timeZone: string; clock: Clock }) {
  /** Queues today's digest; false when Slack is off or today's is already queued. */
  return async function sendDigest(): Promise<boolean> {
    if (deps.slack.mode === 'off') return false;
    const now = deps.clock.now();
    const [refunds, outbox, stalled] = await Promise.all([
      deps.store.countByStatus(),
      deps.store.countOutbox(),
      deps.store.listRefunds({ status: 'stalled', limit: STALLED_LISTED }),
    ]);
    const content = digestContent({
      now,
      refunds,
      outbox,
      stalled: stalled.map((r) => ({ refundKey: r.id, refundId: r.refundId, stalledAt: r.stalledAt, lastRefundStatus: r.lastRefundStatus })),
    });
    const entry = messageEntry(`digest:${dayIn(now, deps.timeZone)}`, { type: 'slack', channel: deps.channel }, content, now);
    return (await deps.store.enqueueOutbox('digest', [entry], now)) === 1;
  };
}
