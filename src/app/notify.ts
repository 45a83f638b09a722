import type { Logger } from 'pino';
import { noticeSubject, type Notice } from '../domain/notice.js';
import { InDoubtError, LeaseLostError, NotSentError, isInDoubt, isRetriable } from '../domain/errors.js';
import { routeNotification, type Delivery, type NotificationSubject, type RoutingContext, type RoutingTree } from '../domain/routing.js';
import { digestContent } from '../domain/digest.js';
import type { EscalationGroup, NotificationContent, OutageItem } from '../domain/notification-content.js';
import type { Clock, GroupMember, NotificationGroup, OutboxEntry, OutboxEntryInput, RefundStore } from './ports.js';

/**
 * Notifications, from a notice (what happened) to people told: routing into deliveries, sending
 * each through Slack or email, grouping escalations into one message per code and window, falling
 * back from a receiver that keeps failing to the other channel, coalescing a stale backlog after
 * an outage, and reminding about stalled refunds in their thread. Rendering and transport are
 * ports; what is sent when is decided here.
 */

/** A rendered Slack message (Block Kit and its plain-text fallback). */
export interface SlackMessageOut {
  readonly text: string;
  readonly blocks?: readonly unknown[];
}

export interface SlackPort {
  readonly mode: 'bot' | 'webhook' | 'off';
  postMessage(input: { channel: string; text: string; blocks?: readonly unknown[]; threadTs?: string }): Promise<{ ts?: string; channel?: string }>;
  updateMessage(input: { channel: string; ts: string; text: string; blocks?: readonly unknown[] }): Promise<void>;
}

export interface EmailPort {
  send(email: { to: string | string[]; subject: string; html: string; text: string; messageId?: string; headers?: Record<string, string> }): Promise<{ messageId: string }>;
}

export interface RenderedEmailOut {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
}

type OpsTemplate = Exclude<Delivery['template'], 'customer-completed'>;

/** How each kind of message looks; implemented by the Slack Block Kit and email template adapters. */
export interface Renderers {
  slackRefund(subject: NotificationSubject, template: OpsTemplate, playbook?: string): SlackMessageOut;
  slackGroup(group: EscalationGroup): SlackMessageOut;
  slackReminder(subject: NotificationSubject, info: { reminder: number; stalledSince: number; now: number }): SlackMessageOut;
  slackOutage(items: OutageItem[], info: { since: number; until: number; channel: string }): SlackMessageOut;
  emailRefund(subject: NotificationSubject, template: OpsTemplate, playbook?: string, note?: string): RenderedEmailOut;
  emailGroup(group: EscalationGroup): RenderedEmailOut;
  customerEmail(subject: NotificationSubject): RenderedEmailOut;
  slackContent(content: NotificationContent): SlackMessageOut;
  emailContent(content: NotificationContent): RenderedEmailOut;
  messageId(dedupeKey: string): string;
}

export interface NotifySettings {
  /** Escalations with the same group key inside this window are one message. */
  groupWindowMs: number;
  /** A grouped Slack message is rewritten at most this often while refunds keep arriving. */
  groupUpdateIntervalMs: number;
  /** A stalled refund still unresolved gets a reminder in its thread this often. */
  reminderIntervalMs: number;
  /** A Slack delivery older than this when it can finally be sent is part of a backlog. */
  staleAfterMs: number;
  /** How long an ops delivery may keep failing before it falls back to the other channel. */
  fallbackAfterMs: number;
  /** How long a customer email retries temporary failures before it is given up and reported. */
  customerGiveUpAfterMs: number;
  /** How long any other delivery retries temporary failures before it is given up. */
  giveUpAfterMs: number;
  escalationEmailTo: readonly string[];
  escalationChannel: string;
}

/** What a delivery outbox entry carries. */
export interface DeliveryPayload {
  readonly delivery: Delivery;
  readonly subject: NotificationSubject;
  /** Set on a fallback: which receiver failed, and how. */
  readonly fallbackFrom?: { readonly receiver: string; readonly error: string };
}

/**
 * A delivery that is not about one refund (the customer-email outage notices): ready-made
 * content for an ops receiver.
 */
export interface MessagePayload {
  readonly message: NotificationContent;
  readonly receiver: Extract<Delivery['receiver'], { type: 'slack' | 'email' }>;
}

export function isMessagePayload(payload: unknown): payload is MessagePayload {
  return typeof payload === 'object' && payload !== null && 'message' in payload && 'receiver' in payload;
}

/** The channel of customer emails in the outbox (one receiver: the customers' SMTP server). */
export const CUSTOMER_CHANNEL = 'customer';

export function receiverId(delivery: Pick<Delivery, 'receiver'>): string {
  const r = delivery.receiver;
  return r.type === 'slack' ? `slack:${r.channel}` : r.type === 'email' ? `email:${r.to.join(',')}` : 'customer';
}

/**
 * From a notice to its deliveries, routed by routing.yaml. Transports that are off (no Slack
 * token or webhook, no SMTP_URL) are left out here rather than failing later.
 */
export function createNoticePlanner(deps: {
  tree: RoutingTree;
  ctx: RoutingContext;
  slackEnabled: boolean;
  emailEnabled: boolean;
  availableAt?: (now: number) => number;
  clock: Clock;
}) {
  return (payload: unknown): OutboxEntryInput[] => {
    const { playbook, scope: _scope, ...subject } = payload as Notice;
    const deliveries = routeNotification(subject, deps.tree, deps.ctx).filter((d) =>
      d.receiver.type === 'slack' ? deps.slackEnabled : deps.emailEnabled,
    );
    const now = deps.clock.now();
    return deliveries.map((d) => ({
      dedupeKey: `delivery:${d.dedupeKey}`,
      kind: 'delivery' as const,
      channel: receiverId(d),
      payload: { delivery: playbook && !d.playbook ? { ...d, playbook } : d, subject } satisfies DeliveryPayload,
      availableAt: now,
    }));
  };
}

function memberOf(subject: NotificationSubject): GroupMember {
  return {
    refundKey: subject.refundKey,
    ...(subject.refundId ? { refundId: subject.refundId } : {}),
    ...(subject.refundRequestId ? { refundRequestId: subject.refundRequestId } : {}),
    paymentId: subject.paymentId,
    ...(subject.refundAmount ? { refundAmount: subject.refundAmount } : {}),
    detectedAt: subject.detectedAt,
  };
}

function escalationGroup(group: NotificationGroup, members: GroupMember[], reasonCode: string): EscalationGroup {
  return {
    reasonCode,
    template: group.template as OpsTemplate,
    ...(group.playbook ? { playbook: group.playbook } : {}),
    refunds: members,
    windowStart: group.windowStart,
    windowEnd: group.windowEnd,
  };
}

/** `escalation:RISK_REJECT` → `RISK_REJECT` (the last part of the group key names the code). */
function groupReason(groupKey: string): string {
  return groupKey.split(':').at(-1) ?? groupKey;
}

/** What the sender and the group flusher work with. */
export interface NotifierDeps {
  store: RefundStore;
  /** The dispatcher's lease owner: a customer email is marked as being sent only under its lease. */
  owner: string;
  slack: SlackPort;
  email?: EmailPort;
  render: Renderers;
  settings: NotifySettings;
  clock: Clock;
  logger: Logger;
}

export function createNotificationSender(deps: NotifierDeps) {
  const { store, slack, render, settings } = deps;
  const log = deps.logger.child({ component: 'notify' });

  async function sendGrouped(entry: OutboxEntry, d: Delivery, subject: NotificationSubject): Promise<void> {
    const now = deps.clock.now();
    const { group, created, added } = await store.addGroupMember({
      receiver: receiverId(d),
      groupKey: d.group!,
      template: d.template,
      ...(d.playbook ? { playbook: d.playbook } : {}),
      member: memberOf(subject),
      windowMs: settings.groupWindowMs,
      now,
    });
    if (created) log.info({ group: d.group, receiver: receiverId(d) }, 'escalation group opened');
    // The refund that opens a group is told at once (also when its first attempt failed and this
    // is the retry); later ones are the flusher's: debounced updates, or one summary at the end.
    const retryOfOpener = !created && !added && group.membersSent === 0 && group.messageTs === undefined;
    if (!created && !retryOfOpener) return;
    if (d.receiver.type === 'slack') {
      if (slack.mode === 'bot') {
        const members = await store.groupMembers(group.id);
        const res = await slack.postMessage({ channel: d.receiver.channel, ...render.slackGroup(escalationGroup(group, members, groupReason(d.group!))) });
        await store.markGroupFlushed(group.id, {
          now: deps.clock.now(),
          ...(res.channel ? { messageChannel: res.channel } : {}),
          ...(res.ts ? { messageTs: res.ts } : {}),
          membersSent: members.length,
        });
      } else {
        await slack.postMessage({ channel: d.receiver.channel, ...render.slackRefund(subject, d.template as OpsTemplate, d.playbook) });
        await store.markGroupFlushed(group.id, { now: deps.clock.now(), membersSent: 1 });
      }
    } else if (d.receiver.type === 'email') {
      await requireEmail().send({
        to: [...d.receiver.to],
        ...render.emailRefund(subject, d.template as OpsTemplate, d.playbook),
        messageId: render.messageId(entry.dedupeKey),
      });
      await store.markGroupFlushed(group.id, { now: deps.clock.now(), membersSent: 1 });
    }
  }

  function requireEmail(): EmailPort {
    if (!deps.email) throw new NotSentError('email is off (no SMTP_URL)', 'EMAIL_OFF');
    return deps.email;
  }

  async function sendMessage({ message, receiver }: MessagePayload, entry: OutboxEntry): Promise<void> {
    if (receiver.type === 'slack') {
      if (slack.mode === 'off') throw new NotSentError('Slack is off (no SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL)', 'SLACK_OFF');
      await slack.postMessage({ channel: receiver.channel, ...render.slackContent(message) });
      return;
    }
    await requireEmail().send({ to: [...receiver.to], ...render.emailContent(message), messageId: render.messageId(entry.dedupeKey) });
  }

  /** Sends one delivery; throws a RefundNotifierError the dispatcher retries or gives up on. */
  async function deliver(entry: OutboxEntry): Promise<void> {
    if (isMessagePayload(entry.payload)) return sendMessage(entry.payload, entry);
    const { delivery: d, subject, fallbackFrom } = entry.payload as DeliveryPayload;
    const note = fallbackFrom ? `Sent here instead of ${fallbackFrom.receiver}, which failed: ${fallbackFrom.error}` : undefined;
    switch (d.receiver.type) {
      case 'customer-email': {
        const to = subject.customer?.email;
        if (!to) throw new NotSentError('no customer address', 'NO_ADDRESS');
        if (entry.sendingAt !== undefined) {
          // A previous attempt was cut off mid-send (the process died): the SMTP server may have
          // taken it. Resending could email the customer twice, which we promise never to do.
          throw new InDoubtError(
            `a previous send started at ${new Date(entry.sendingAt).toISOString()} never reported back; not resent so the customer is not emailed twice (retry from /admin/outbox if it did not arrive)`,
          );
        }
        const email = requireEmail();
        const rendered = render.customerEmail(subject);
        // The mark goes first: if this process dies during the send, whoever claims the entry next
        // finds it and does not send again. It applies only under our lease; without it, the entry
        // is someone else's now and is not touched.
        if (!(await store.markOutboxSending(entry.id, deps.clock.now(), deps.owner))) {
          throw new LeaseLostError('the lease on this delivery passed to another dispatcher before the send: not sent here');
        }
        await email.send({ to, ...rendered, messageId: render.messageId(entry.dedupeKey) });
        return;
      }
      case 'email': {
        if (d.group && !fallbackFrom) return sendGrouped(entry, d, subject);
        await requireEmail().send({
          to: [...d.receiver.to],
          ...render.emailRefund(subject, d.template as OpsTemplate, d.playbook, note),
          messageId: render.messageId(entry.dedupeKey),
        });
        return;
      }
      case 'slack': {
        if (slack.mode === 'off') throw new NotSentError('Slack is off (no SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL)', 'SLACK_OFF');
        if (d.group && !fallbackFrom) return sendGrouped(entry, d, subject);
        const message = render.slackRefund(subject, d.template as OpsTemplate, d.playbook);
        const res = await slack.postMessage({
          channel: d.receiver.channel,
          ...(note ? { ...message, text: `${message.text}\n_${note}_` } : message),
        });
        if (d.template === 'stalled' && res.ts && res.channel) {
          await store.saveThread({ refundKey: subject.refundKey, channel: d.receiver.channel, channelId: res.channel, ts: res.ts, now: deps.clock.now() });
        }
        return;
      }
    }
  }

  /**
   * A receiver that keeps failing: an ops message that cannot reach Slack goes to the escalation
   * email list, one that cannot be emailed goes to the escalation channel; a customer email that
   * is given up is reported to the escalation channel. The failure itself is logged and counted.
   */
  function fallbackFor(entry: OutboxEntry, err: unknown, { failingSince, now }: { failingSince: number; now: number }): OutboxEntryInput[] | undefined {
    if (isMessagePayload(entry.payload)) return undefined; // outage notices are retried, then given up
    const { delivery: d, subject, fallbackFrom } = entry.payload as DeliveryPayload;
    if (fallbackFrom) return undefined; // a fallback does not fall back again
    if (err instanceof LeaseLostError) return undefined;
    const inDoubt = isInDoubt(err);
    // A customer email is retried until CUSTOMER_EMAIL_GIVE_UP_AFTER (a mail server retries a 4xx
    // for days; so do we); an ops message goes to the other channel after NOTIFY_FALLBACK_AFTER,
    // so a ten-second Slack blip does not turn into email.
    const patience = d.receiver.type === 'customer-email' ? settings.customerGiveUpAfterMs : settings.fallbackAfterMs;
    const exhausted = inDoubt || !isRetriable(err) || now - failingSince >= patience;
    if (!exhausted) return undefined;
    const error = err instanceof Error ? err.message : String(err);
    const entryFor = (delivery: Delivery, subj: NotificationSubject): OutboxEntryInput => ({
      dedupeKey: `delivery:${delivery.dedupeKey}`,
      kind: 'delivery',
      channel: receiverId(delivery),
      payload: { delivery, subject: subj, fallbackFrom: { receiver: receiverId(d), error } } satisfies DeliveryPayload,
      availableAt: now,
    });
    if (d.receiver.type === 'slack' && d.template !== 'ops-line' && settings.escalationEmailTo.length > 0 && deps.email) {
      const to = [...settings.escalationEmailTo].sort();
      return [entryFor({ ...d, receiver: { type: 'email', to }, dedupeKey: `${d.dedupeKey}:fallback:email` }, subject)];
    }
    if (d.receiver.type === 'email' && slack.mode !== 'off') {
      return [entryFor({ ...d, receiver: { type: 'slack', channel: settings.escalationChannel }, dedupeKey: `${d.dedupeKey}:fallback:slack` }, subject)];
    }
    if (d.receiver.type === 'customer-email' && slack.mode !== 'off' && !(err instanceof NotSentError && err.code === 'NO_ADDRESS')) {
      return [
        entryFor(
          {
            receiver: { type: 'slack', channel: settings.escalationChannel },
            template: 'integration-fault',
            dedupeKey: `${d.dedupeKey}:fallback:report`,
            route: inDoubt ? 'customer-email-in-doubt' : 'customer-email-failed',
            playbook: inDoubt
              ? `The connection to the SMTP server was lost after it had received the email, before it confirmed it: it may or may not have been delivered, so it is not sent again. Look for Message-ID ${render.messageId(entry.dedupeKey)} in the SMTP server's log; if it is not there, retry the delivery from /admin/outbox?status=dead.`
              : 'The customer was not told their refund completed: check the address and the SMTP server, then retry the delivery from /admin/outbox?status=dead or tell the customer another way.',
          },
          { ...subject, event: 'integration.fault', reasonCode: inDoubt ? 'CUSTOMER_EMAIL_IN_DOUBT' : 'CUSTOMER_EMAIL_NOT_SENT', resultMessage: error },
        ),
      ];
    }
    return undefined;
  }

  return { deliver, fallbackFor };
}

/**
 * Brings groups up to date: a grouped Slack message is rewritten (chat.update) at most every
 * groupUpdateIntervalMs while refunds keep arriving; when the window closes, a final update — or,
 * for email and webhooks, one summary of the refunds that came after the first.
 */
export function createGroupFlusher(deps: NotifierDeps) {
  const { store, slack, render, settings } = deps;
  const log = deps.logger.child({ component: 'notify-groups' });
  // A window whose summary keeps failing is given up after this long past its end, loudly.
  const GIVE_UP_AFTER_MS = 60 * 60_000;

  /** The group, whole, to the other ops channel; true when it went. */
  async function fallBack(group: NotificationGroup, error: string, now: number): Promise<boolean> {
    const members = await store.groupMembers(group.id);
    const content = escalationGroup(group, members.slice(group.membersSent), groupReason(group.groupKey));
    const note = `Sent here instead of ${group.receiver}, which failed: ${error}`;
    try {
      if (group.receiver.startsWith('slack:') && deps.email && settings.escalationEmailTo.length > 0) {
        const rendered = render.emailGroup(content);
        await deps.email.send({
          to: [...settings.escalationEmailTo],
          ...rendered,
          text: `${rendered.text}\n\n${note}`,
          messageId: render.messageId(`group:${group.id}:fallback`),
        });
      } else if (group.receiver.startsWith('email:') && slack.mode !== 'off') {
        const message = render.slackGroup(content);
        await slack.postMessage({ channel: settings.escalationChannel, ...message, text: `${message.text}\n_${note}_` });
      } else {
        return false;
      }
    } catch (err) {
      log.error({ err, group: group.groupKey }, 'group fallback failed too; will retry');
      return false;
    }
    log.error({ group: group.groupKey, receiver: group.receiver, error }, 'receiver keeps failing: group sent to the other channel');
    await store.markGroupFlushed(group.id, { now, membersSent: members.length });
    await store.closeGroup(group.id);
    return true;
  }

  async function flushOne(group: NotificationGroup, now: number): Promise<void> {
    const members = await store.groupMembers(group.id);
    const windowOver = group.windowEnd <= now;
    const content = escalationGroup(group, members, groupReason(group.groupKey));
    if (group.receiver.startsWith('slack:') && slack.mode === 'bot') {
      const channel = group.receiver.slice('slack:'.length);
      if (!group.messageTs) {
        const res = await slack.postMessage({ channel, ...render.slackGroup(content) });
        await store.markGroupFlushed(group.id, {
          now,
          ...(res.channel ? { messageChannel: res.channel } : {}),
          ...(res.ts ? { messageTs: res.ts } : {}),
          membersSent: members.length,
        });
      } else if (members.length > group.membersSent || group.dirty) {
        await slack.updateMessage({ channel: group.messageChannel ?? channel, ts: group.messageTs, ...render.slackGroup(content) });
        await store.markGroupFlushed(group.id, { now, membersSent: members.length });
      } else {
        await store.markGroupFlushed(group.id, { now });
      }
    } else if (windowOver && members.length > group.membersSent) {
      // Email and webhook cannot edit what they sent: the rest of the window in one message.
      const rest = { ...content, refunds: members.slice(group.membersSent) };
      if (group.receiver.startsWith('email:')) {
        if (!deps.email) throw new NotSentError('email is off', 'EMAIL_OFF');
        await deps.email.send({
          to: group.receiver.slice('email:'.length).split(','),
          ...render.emailGroup(rest),
          messageId: render.messageId(`group:${group.id}:${members.length}`),
        });
      } else {
        await slack.postMessage({ channel: group.receiver.slice('slack:'.length), ...render.slackGroup(rest) });
      }
      await store.markGroupFlushed(group.id, { now, membersSent: members.length });
    } else {
      await store.markGroupFlushed(group.id, { now });
    }
    if (windowOver) await store.closeGroup(group.id);
  }

  return async (): Promise<number> => {
    const now = deps.clock.now();
    const due = await store.listGroupsToFlush(now, settings.groupUpdateIntervalMs);
    let flushed = 0;
    for (const group of due) {
      try {
        await flushOne(group, now);
        flushed += 1;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        log.warn({ err, group: group.groupKey, receiver: group.receiver }, 'group update failed; will retry');
        await store.markGroupFailed(group.id, message);
        // A receiver that keeps failing: once the window is over and the receiver refuses for
        // good (or has failed for NOTIFY_STALE_AFTER), the group goes to the other channel.
        const hopeless = !isRetriable(err) || now - group.windowEnd > settings.staleAfterMs;
        if (group.windowEnd <= now && hopeless && (await fallBack(group, message, now))) continue;
        if (now - group.windowEnd > GIVE_UP_AFTER_MS) {
          log.error({ group: group.groupKey, receiver: group.receiver, error: message }, 'group summary given up an hour after its window');
          await store.closeGroup(group.id);
        }
      }
    }
    return flushed;
  };
}

/** Reminders in the thread of each stalled refund's first message, every reminderIntervalMs. */
export function createStalledReminders(deps: {
  store: RefundStore;
  slack: SlackPort;
  render: Renderers;
  settings: NotifySettings;
  clock: Clock;
  logger: Logger;
}) {
  const log = deps.logger.child({ component: 'notify-reminders' });
  return async (): Promise<number> => {
    if (deps.slack.mode !== 'bot') return 0; // a webhook cannot reply in a thread
    const now = deps.clock.now();
    const due = await deps.store.listRemindersDue(now, deps.settings.reminderIntervalMs, 50);
    let sent = 0;
    for (const { thread, refund } of due) {
      const subject = noticeSubject(refund, 'refund.stalled', now);
      try {
        await deps.slack.postMessage({
          channel: thread.channelId,
          threadTs: thread.ts,
          ...deps.render.slackReminder(subject, { reminder: thread.reminders + 1, stalledSince: refund.stalledAt ?? thread.postedAt, now }),
        });
        await deps.store.markReminded(thread.refundKey, thread.channel, now);
        sent += 1;
      } catch (err) {
        log.warn({ err, refund: refund.id }, 'stalled reminder failed; will retry');
      }
    }
    return sent;
  };
}

/**
 * After an outage, the Slack deliveries that waited longer than staleAfterMs are not replayed one
 * by one into a channel that just came back: each channel gets one summary of its backlog. Customer
 * emails are never coalesced; every customer gets their own email, late or not.
 */
export function createBacklogCoalescer(deps: { slack: SlackPort; render: Renderers; settings: NotifySettings; clock: Clock; logger: Logger }) {
  const log = deps.logger.child({ component: 'notify-backlog' });
  // Fewer than this are simply sent: a summary of two messages helps nobody.
  const MIN_TO_COALESCE = 3;
  return async (
    entries: OutboxEntry[],
    claimBacklog: (channel: string, createdBefore: number) => Promise<OutboxEntry[]>,
  ): Promise<Array<{ covers: OutboxEntry[]; send: () => Promise<void> }>> => {
    if (deps.slack.mode === 'off') return [];
    const now = deps.clock.now();
    const staleBefore = now - deps.settings.staleAfterMs;
    const coalescible = (e: OutboxEntry) => {
      if (e.kind !== 'delivery' || isMessagePayload(e.payload)) return false;
      const p = e.payload as DeliveryPayload;
      return p.delivery.receiver.type === 'slack' && !p.delivery.group && !p.fallbackFrom && e.createdAt < staleBefore;
    };
    const stale = new Map<string, OutboxEntry[]>();
    for (const e of entries.filter(coalescible)) stale.set(e.channel, [...(stale.get(e.channel) ?? []), e]);
    const out: Array<{ covers: OutboxEntry[]; send: () => Promise<void> }> = [];
    for (const [receiver, inBatch] of stale) {
      // The rest of this receiver's backlog, not due again yet: one summary stands for all of it.
      const rest = (await claimBacklog(receiver, staleBefore)).filter(coalescible);
      const list = [...inBatch, ...rest];
      if (list.length < MIN_TO_COALESCE) {
        // Too few to summarise: the ones leased just now go back to be sent like the others.
        entries.push(...rest);
        continue;
      }
      const channel = receiver.slice('slack:'.length);
      out.push({
        covers: list,
        send: async () => {
          const items: OutageItem[] = list.map((e) => {
            const { delivery, subject } = e.payload as DeliveryPayload;
            return {
              template: delivery.template,
              event: subject.event,
              ...(subject.reasonCode ? { reasonCode: subject.reasonCode } : {}),
              ...(subject.refundAmount ? { refundAmount: subject.refundAmount } : {}),
            };
          });
          const since = Math.min(...list.map((e) => e.createdAt));
          await deps.slack.postMessage({ channel, ...deps.render.slackOutage(items, { since, until: now, channel }) });
          log.warn({ channel, coalesced: list.length }, 'stale backlog coalesced into one summary');
        },
      });
    }
    return out;
  };
}

/** The daily digest in the ops channel. */
export function createDigest(deps: { store: RefundStore; slack: SlackPort; render: Renderers; channel: string; clock: Clock }) {
  return async (): Promise<boolean> => {
    if (deps.slack.mode === 'off') return false;
    const [refunds, outbox, stalled] = await Promise.all([
      deps.store.countByStatus(),
      deps.store.countOutbox(),
      deps.store.listRefunds({ status: 'stalled', limit: 20 }),
    ]);
    const content = digestContent({
      now: deps.clock.now(),
      refunds,
      outbox,
      stalled: stalled.map((r) => ({
        refundKey: r.id,
        ...(r.refundId ? { refundId: r.refundId } : {}),
        ...(r.stalledAt ? { stalledAt: r.stalledAt } : {}),
        ...(r.lastRefundStatus ? { lastRefundStatus: r.lastRefundStatus } : {}),
      })),
    });
    await deps.slack.postMessage({ channel: deps.channel, ...deps.render.slackContent(content) });
    return true;
  };
}
