/**
 * A grouped delivery (a route with `groupBy`) joins the open group of its receiver and key
 * (docs/notifications.md, "Dedupe keys and grouping"). The refund that opens a group is told at once; the ones
 * that join later are the flusher's (flush-groups.ts): debounced updates of one Slack message, or
 * one summary email when the window closes.
 */
import type { EscalationGroup } from '../../domain/notification-content.js';
import type { Delivery, GroupKey, NotificationSubject, OpsReceiver } from '../../domain/routing.js';
import type { GroupMember, NotificationGroup, OpsTemplate, OutboxEntry } from '../ports.js';
import { NotSentError } from '../../domain/errors.js';
import { requireEmail, type NotifierDeps } from './vocabulary.js';

function memberOf(subject: NotificationSubject): GroupMember {
  const { refundKey, refundId, refundRequestId, paymentId, refundAmount, detectedAt } = subject;
  return { refundKey, refundId, refundRequestId, paymentId, refundAmount, detectedAt };
}

/** What a group's message shows: its key, playbook, window and refunds. */
export function groupContent(group: NotificationGroup, members: readonly GroupMember[]): EscalationGroup {
  return { key: group.key, playbook: group.playbook, refunds: members, windowStart: group.windowStart, windowEnd: group.windowEnd };
}

export function createGroupJoiner(deps: NotifierDeps) {
  const { store, slack, render, settings } = deps;
  const log = deps.logger.child({ component: 'notify' });

  /** Posts the group's one Slack message and remembers it, so later members update it in place. */
  async function postGroupMessage(group: NotificationGroup, channel: string): Promise<void> {
    const members = await store.groupMembers(group.id);
    const res = await slack.postMessage({ channel, ...render.slackGroup(groupContent(group, members)) });
    await store.markGroupFlushed(group.id, { now: deps.clock.now(), messageChannel: res.channel, messageTs: res.ts, membersSent: members.length });
  }

  async function joinGroup(entry: OutboxEntry, d: Delivery & { receiver: OpsReceiver; group: GroupKey }, subject: NotificationSubject): Promise<void> {
    const { group, created, added } = await store.addGroupMember({
      receiver: d.receiver,
      key: d.group,
      playbook: d.playbook,
      member: memberOf(subject),
      windowMs: settings.groupWindowMs,
      now: deps.clock.now(),
    });
    if (created) log.info({ group: d.group, receiver: d.receiver }, 'escalation group opened');
    // Its group ended without reaching this receiver (it fell back to the other channel, or was
    // given up): this delivery is not sent here either, and says where the refund went.
    if (group.closed && group.failingSince !== undefined) throw new NotSentError(group.lastError ?? 'its group was given up', 'GROUP_ENDED_FAILING');
    // The opener is told at once, also when its first attempt failed and this is the retry; a
    // group that was closed meanwhile (its summary went, or it fell back) has told it already.
    const retryOfOpener = !created && !added && !group.closed && group.membersSent === 0 && group.messageTs === undefined;
    if (!created && !retryOfOpener) return;
    try {
      await tellOpener(entry, d, subject, group);
    } catch (err) {
      // The group's run of failures starts here: it falls back as a whole (flush-groups.ts).
      // (If the store refuses that too, the delivery's own failure is what counts.)
      await store.markGroupFailed(group.id, err instanceof Error ? err.message : String(err), deps.clock.now()).catch(() => undefined);
      throw err;
    }
  }

  async function tellOpener(entry: OutboxEntry, d: Delivery & { receiver: OpsReceiver }, subject: NotificationSubject, group: NotificationGroup): Promise<void> {
    const template = d.template as OpsTemplate;
    if (d.receiver.type === 'slack' && slack.mode === 'bot') return postGroupMessage(group, d.receiver.channel);
    if (d.receiver.type === 'slack') {
      // A webhook cannot edit what it posted: the opener's own message now, a summary at the end.
      await slack.postMessage({ channel: d.receiver.channel, ...render.slackRefund(subject, template, d.playbook) });
    } else {
      await requireEmail(deps.email).send({
        to: [...d.receiver.to],
        ...render.emailRefund(subject, template, d.playbook),
        messageId: render.messageId(entry.dedupeKey),
      });
    }
    await store.markGroupFlushed(group.id, { now: deps.clock.now(), membersSent: 1 });
  }

  return joinGroup;
}
