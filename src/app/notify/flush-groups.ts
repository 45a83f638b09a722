/**
 * Brings groups up to date (docs/notifications.md, "Dedupe keys and grouping"): a grouped Slack message is
 * rewritten (chat.update) at most every groupUpdateIntervalMs while refunds keep arriving; when the
 * window closes, a final update — or, for email and webhooks, one summary of the refunds that
 * came after the first. A receiver that keeps failing gets the group sent to the other channel.
 */
import { NotSentError, isRetriable } from '../../domain/errors.js';
import { receiverKey, type OpsReceiver } from '../../domain/routing.js';
import type { GroupMember, NotificationGroup } from '../ports.js';
import { groupContent } from './join-group.js';
import { requireEmail, type NotifierDeps } from './vocabulary.js';

// A window whose summary keeps failing is given up this long past its end, loudly: by then the
// escalation email or channel has had an hour of chances, and a stale summary helps nobody.
const GIVE_UP_AFTER_MS = 60 * 60_000;

export function createGroupFlusher(deps: NotifierDeps) {
  const { store, slack, render, settings } = deps;
  const log = deps.logger.child({ component: 'notify-groups' });

  /** The other ops channel for a group's receiver, if there is one. */
  function otherChannel(group: NotificationGroup): OpsReceiver | undefined {
    if (group.receiver.type === 'slack' && deps.email && settings.escalationEmailTo.length > 0) return { type: 'email', to: [...settings.escalationEmailTo] };
    if (group.receiver.type === 'email' && slack.mode !== 'off') return { type: 'slack', channel: settings.escalationChannel };
    return undefined;
  }

  /**
   * The group, whole, to the other ops channel; true when it went. The group is closed still
   * failing, with where it went: a retried delivery of one of its refunds reads that (join-group.ts).
   */
  async function fallBack(group: NotificationGroup, error: string, now: number): Promise<boolean> {
    const other = otherChannel(group);
    if (!other) return false;
    const members = await store.groupMembers(group.id);
    const content = groupContent(group, members.slice(group.membersSent));
    const note = `Sent here instead of ${receiverKey(group.receiver)}, which failed: ${error}`;
    try {
      if (other.type === 'email' && deps.email) {
        const rendered = render.emailGroup(content);
        await deps.email.send({
          to: [...settings.escalationEmailTo],
          ...rendered,
          text: `${rendered.text}\n\n${note}`,
          messageId: render.messageId(`group:${group.id}:fallback`),
        });
      } else {
        const message = render.slackGroup(content);
        await slack.postMessage({ channel: settings.escalationChannel, ...message, text: `${message.text}\n_${note}_` });
      }
    } catch (err) {
      log.error({ err, group: group.key }, 'group fallback failed too; will retry');
      return false;
    }
    log.error({ group: group.key, receiver: group.receiver, error }, 'receiver keeps failing: group sent to the other channel');
    await store.markGroupFailed(group.id, `fell back to ${receiverKey(other)}: ${error}`, now);
    await store.closeGroup(group.id);
    return true;
  }

  /** A Slack bot edits the group's one message: post it if it is not there yet, else update it. */
  async function updateInPlace(group: NotificationGroup, channel: string, members: GroupMember[], now: number): Promise<void> {
    const content = groupContent(group, members);
    if (!group.messageTs) {
      const res = await slack.postMessage({ channel, ...render.slackGroup(content) });
      await store.markGroupFlushed(group.id, { now, messageChannel: res.channel, messageTs: res.ts, membersSent: members.length });
    } else if (members.length > group.membersSent || group.dirty) {
      await slack.updateMessage({ channel: group.messageChannel ?? channel, ts: group.messageTs, ...render.slackGroup(content) });
      await store.markGroupFlushed(group.id, { now, membersSent: members.length });
    } else {
      await store.markGroupFlushed(group.id, { now });
    }
  }

  /** Email and webhook cannot edit what they sent: the rest of the window in one message. */
  async function sendSummary(group: NotificationGroup, members: GroupMember[], now: number): Promise<void> {
    const rest = groupContent(group, members.slice(group.membersSent));
    if (group.receiver.type === 'email') {
      await requireEmail(deps.email).send({
        to: [...group.receiver.to],
        ...render.emailGroup(rest),
        messageId: render.messageId(`group:${group.id}:${members.length}`),
      });
    } else {
      if (slack.mode === 'off') throw new NotSentError('Slack is off', 'SLACK_OFF');
      await slack.postMessage({ channel: group.receiver.channel, ...render.slackGroup(rest) });
    }
    await store.markGroupFlushed(group.id, { now, membersSent: members.length });
  }

  async function flushOne(group: NotificationGroup, now: number): Promise<void> {
    const members = await store.groupMembers(group.id);
    const windowOver = group.windowEnd <= now;
    if (group.receiver.type === 'slack' && slack.mode === 'bot') await updateInPlace(group, group.receiver.channel, members, now);
    else if (windowOver && members.length > group.membersSent) await sendSummary(group, members, now);
    else await store.markGroupFlushed(group.id, { now });
    if (windowOver) await store.closeGroup(group.id);
  }

  return async function flushGroups(): Promise<number> {
    const now = deps.clock.now();
    const due = await store.listGroupsToFlush(now, settings.groupUpdateIntervalMs);
    let flushed = 0;
    for (const group of due) {
      try {
        await flushOne(group, now);
        flushed += 1;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        log.warn({ err, group: group.key, receiver: group.receiver }, 'group update failed; will retry');
        await store.markGroupFailed(group.id, message, now);
        // A receiver that keeps failing: once the window is over and the receiver refuses for
        // good, or has failed for NOTIFY_FALLBACK_AFTER (counted from the opener's first failed
        // post), the group goes to the other channel, like any ops delivery.
        const failingFor = now - (group.failingSince ?? now);
        const hopeless = !isRetriable(err) || failingFor >= settings.fallbackAfterMs;
        if (group.windowEnd <= now && hopeless && (await fallBack(group, message, now))) continue;
        if (now - group.windowEnd > GIVE_UP_AFTER_MS) {
          log.error({ group: group.key, receiver: group.receiver, error: message }, 'group summary given up an hour after its window');
          await store.closeGroup(group.id);
        }
      }
    }
    return flushed;
  };
}
