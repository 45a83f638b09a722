/**
 * Block Kit for every Slack message the service sends. Built from the medium-neutral
 * NotificationContent (src/domain/notification-content.ts), so a Slack message and its email
 * fallback say the same thing.
 *
 * Values that came from events are escaped for mrkdwn (`&`, `<`, `>`): unescaped, a hostile
 * refund id such as `<!channel>` would page a whole channel, and `<https://evil|click>` would
 * render as a link. Slack asks for exactly these three escapes and no others
 * (api.slack.com/reference/surfaces/formatting#escaping).
 */
import {
  escalationGroupContent,
  outageSummaryContent,
  refundContent,
  stalledReminderContent,
  type EscalationGroup,
  type NotificationContent,
  type OutageSummary,
  type Severity,
} from '../../domain/notification-content.js';
import type { DeliveryTemplate, NotificationSubject } from '../../domain/routing.js';

export interface PlainTextObject {
  readonly type: 'plain_text';
  readonly text: string;
  readonly emoji?: boolean;
}

export interface MrkdwnObject {
  readonly type: 'mrkdwn';
  readonly text: string;
}

/** The subset of Block Kit used here; structurally a subset of @slack/types' KnownBlock. */
export type SlackBlock =
  | { readonly type: 'header'; readonly text: PlainTextObject }
  | { readonly type: 'section'; readonly text?: MrkdwnObject; readonly fields?: readonly MrkdwnObject[] }
  | { readonly type: 'context'; readonly elements: readonly MrkdwnObject[] }
  | { readonly type: 'divider' };

export interface SlackMessage {
  /** Always set: Slack shows it in notifications and where blocks cannot be rendered. */
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

// Block Kit limits (api.slack.com/reference/block-kit/blocks): a header's text holds 150
// characters, a section's text 3,000, a field 2,000, and a section at most 10 fields.
const HEADER_MAX = 150;
const SECTION_TEXT_MAX = 3000;
const FIELD_MAX = 2000;
const FIELDS_PER_SECTION = 10;
// The top-level text is a notification preview; Slack truncates long ones itself, but a preview
// longer than a section is noise.
const TEXT_MAX = 3000;

const SEVERITY_EMOJI: Record<Severity, string> = {
  info: ':large_green_circle:',
  warning: ':warning:',
  critical: ':rotating_light:',
};

/** `&`, `<`, `>` -> `&amp;`, `&lt;`, `&gt;`, the escapes Slack's mrkdwn needs. */
export function escapeMrkdwn(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function truncate(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

export function slackMessage(content: NotificationContent): SlackMessage {
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: truncate(`${SEVERITY_EMOJI[content.severity]} ${content.title}`, HEADER_MAX), emoji: true },
    },
  ];
  for (let i = 0; i < content.facts.length; i += FIELDS_PER_SECTION) {
    blocks.push({
      type: 'section',
      fields: content.facts.slice(i, i + FIELDS_PER_SECTION).map((fact) => ({
        type: 'mrkdwn',
        text: truncate(`*${escapeMrkdwn(fact.label)}*\n${escapeMrkdwn(fact.value)}`, FIELD_MAX),
      })),
    });
  }
  if (content.playbook !== undefined) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: truncate(`*What to do:* ${escapeMrkdwn(content.playbook)}`, SECTION_TEXT_MAX) },
    });
  }
  for (const section of content.sections ?? []) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: listText(section.heading, section.items, section.more ?? 0) } });
  }
  if (content.note !== undefined) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(content.note) }] });
  }
  return { text: truncate(escapeMrkdwn(content.text), TEXT_MAX), blocks };
}

/** A bulleted list that fits one section; what does not fit joins the "and N more". */
function listText(heading: string, items: readonly string[], more: number): string {
  let text = `*${escapeMrkdwn(heading)}*`;
  let shown = 0;
  // Room kept for the "and N more" line (well under 40 characters).
  const budget = SECTION_TEXT_MAX - 40;
  for (const item of items) {
    const line = `\n• ${escapeMrkdwn(item)}`;
    if (text.length + line.length > budget) break;
    text += line;
    shown += 1;
  }
  const left = more + (items.length - shown);
  if (left > 0) text += `\n_…and ${left} more_`;
  return text;
}

/** One refund's message for a routed template (ops-line, escalation, stalled, integration-fault). */
export function refundMessage(
  subject: NotificationSubject,
  template: Exclude<DeliveryTemplate, 'customer-completed'>,
  options: { playbook?: string } = {},
): SlackMessage {
  return slackMessage(refundContent(subject, template, options));
}

/** The grouped message for refunds with the same reason code; post once, then chat.update it. */
export function groupMessage(group: EscalationGroup): SlackMessage {
  return slackMessage({ ...escalationGroupContent(group), note: 'This message is updated as more refunds arrive with the same code.' });
}

/** A reminder posted in the thread of a stalled refund's first message. */
export function reminderMessage(
  subject: NotificationSubject,
  info: { reminder: number; stalledSince: number; now: number },
): SlackMessage {
  return slackMessage(stalledReminderContent(subject, info));
}

/** One message standing for a backlog held back while Slack was down. */
export function outageMessage(summary: OutageSummary, info: { since: number; until: number; channel?: string }): SlackMessage {
  return slackMessage(outageSummaryContent(summary, info));
}
