import { formatInstant, refundLabel, type NotificationContent } from './notification-content.js';
import type { TrackingStatus } from './refund.js';

export interface DigestInput {
  readonly now: number;
  readonly refunds: Readonly<Record<TrackingStatus, number>>;
  readonly outbox: Readonly<Record<'pending' | 'sent' | 'dead', number>>;
  /** The oldest stalled refunds, for the list. */
  readonly stalled: ReadonlyArray<{ refundKey: string; refundId?: string; refundRequestId?: string; stalledAt?: number; lastRefundStatus?: string }>;
}

/** The daily digest for the ops channel: where every refund stands, what is stuck, what failed to send. */
export function digestContent(input: DigestInput): NotificationContent {
  const r = input.refunds;
  const attention = r.stalled > 0 || input.outbox.dead > 0;
  return {
    kind: 'outage',
    severity: attention ? 'warning' : 'info',
    title: `Refund digest: ${r.pending} pending, ${r.stalled} stalled`,
    text: `Refunds: ${r.pending} pending, ${r.stalled} stalled, ${r.completed} completed, ${r.failed} failed; ${input.outbox.dead} notifications not delivered`,
    facts: [
      { label: 'Pending', value: String(r.pending) },
      { label: 'Stalled', value: String(r.stalled) },
      { label: 'Completed', value: String(r.completed) },
      { label: 'Failed', value: String(r.failed) },
      { label: 'Waiting to be sent', value: String(input.outbox.pending) },
      { label: 'Not delivered (see /admin/outbox?status=dead)', value: String(input.outbox.dead) },
    ],
    ...(input.stalled.length > 0
      ? {
          sections: [
            {
              heading: 'Stalled',
              items: input.stalled.map(
                (s) => `${refundLabel(s)} — ${s.lastRefundStatus ?? 'no answer'} since ${s.stalledAt ? formatInstant(s.stalledAt) : '?'}`,
              ),
              more: r.stalled > input.stalled.length ? r.stalled - input.stalled.length : undefined,
            },
          ],
        }
      : {}),
    note: `Generated ${formatInstant(input.now)}`,
  };
}
