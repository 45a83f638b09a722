/** The daily digest in the ops channel (docs/notifications.md, "Reminders and the digest"): counts, outbox, stalled. */
import { digestContent } from '../../domain/digest.js';
import type { Clock, RefundStore, Renderers, SlackPort } from '../ports.js';

// The digest lists 20 stalled refunds and counts the rest; /admin/refunds?status=stalled lists them all.
const STALLED_LISTED = 20;

export function createDigest(deps: { store: RefundStore; slack: SlackPort; render: Renderers; channel: string; clock: Clock }) {
  return async function sendDigest(): Promise<boolean> {
    if (deps.slack.mode === 'off') return false;
    const [refunds, outbox, stalled] = await Promise.all([
      deps.store.countByStatus(),
      deps.store.countOutbox(),
      deps.store.listRefunds({ status: 'stalled', limit: STALLED_LISTED }),
    ]);
    const content = digestContent({
      now: deps.clock.now(),
      refunds,
      outbox,
      stalled: stalled.map((r) => ({ refundKey: r.id, refundId: r.refundId, stalledAt: r.stalledAt, lastRefundStatus: r.lastRefundStatus })),
    });
    await deps.slack.postMessage({ channel: deps.channel, ...deps.render.slackContent(content) });
    return true;
  };
}
