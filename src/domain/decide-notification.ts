import type { Classification } from './classify.js';
import { amountDiffers, contradiction, faultNotice, finalize, isFinal, unchanged, type Decision, type DecisionContext } from './decide.js';
import type { TrackedRefund } from './refund.js';

/**
 * What happens after an Antom notifyRefund (already verified and classified as completed or
 * failed): the refund is finalised, unless
 *  - the refund is final already: a repeat changes nothing and writes nothing (Antom resends until
 *    acknowledged); a notification that contradicts the known outcome is reported, never obeyed
 *    (never two outcomes);
 *  - the notified amount or currency differs from the tracked one: nothing is finalised, both are
 *    recorded and operations are told; the inquiries go on and decide.
 */

export interface NotificationDecision extends Decision {
  /** The notification was not applied: what it contradicts (logged and escalated). */
  readonly conflict?: string;
  /** The refund already had this outcome: nothing at all is to be written. */
  readonly repeat?: boolean;
}

export function decideAfterNotification(refund: TrackedRefund, c: Classification, ctx: DecisionContext): NotificationDecision {
  if (c.kind !== 'completed' && c.kind !== 'failed') {
    return { ...unchanged(refund), timeline: [{ kind: 'notify', message: `notification ignored: it does not say the refund is final (${c.kind})` }] };
  }
  const says = c.kind === 'completed' ? 'SUCCESS' : `FAIL (${c.reasonCode})`;
  if (isFinal(refund.status)) {
    if ((c.kind === 'completed') === (refund.status === 'completed')) return { ...unchanged(refund), repeat: true };
    return { next: refund, ...contradiction(refund, `Antom notified ${says}`, ctx.now) };
  }
  const differs = c.kind === 'completed' ? amountDiffers(refund.refundAmount, c.refundAmount) : undefined;
  if (differs) {
    const conflict = `Antom notified ${says} for ${differs.antom}, but the refund was initiated for ${differs.initiated}`;
    return {
      next: refund,
      conflict,
      timeline: [{ kind: 'alert', message: `${conflict}: not finalised from the notification, escalated; the inquiries decide` }],
      events: [],
      notices: [
        faultNotice(refund, ctx.now, {
          reasonCode: 'NOTIFIED_AMOUNT_DIFFERS',
          resultMessage: conflict,
          playbook: `The notification names another amount than the refund we track (${conflict}). Check the refund in the Antom Dashboard: a refund for a different amount may have been made, or the notification belongs to another refund.`,
          scope: `notified-amount-differs:${refund.id}`,
        }),
      ],
    };
  }
  const decision = finalize(refund, c, 'notify', ctx.now);
  return { ...decision, timeline: [{ kind: 'notify', message: `Antom notified ${says}` }, ...decision.timeline] };
}
