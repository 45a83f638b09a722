import { describe, expect, it } from 'vitest';
import { escapeMrkdwn, groupMessage, outageMessage, refundMessage, reminderMessage, slackMessage, type SlackBlock } from '../../../src/adapters/slack/blocks.js';
import { outageSummary } from '../../../src/domain/notification-content.js';
import type { NotificationSubject } from '../../../src/domain/routing.js';

const T0 = Date.UTC(2024, 10, 25, 16, 0, 0);

const hostile: NotificationSubject = {
  event: 'refund.failed',
  refundKey: 'R-<!channel>',
  refundId: 'R-<!channel>',
  paymentId: 'P-<https://evil.example|click me>',
  status: 'FAIL',
  reasonCode: 'RISK_REJECT',
  resultMessage: 'Tom & Jerry <b>',
  refundAmount: { currency: 'JPY', value: '1250' },
  detectedAt: T0,
};

function allMrkdwn(blocks: readonly SlackBlock[]): string {
  const texts: string[] = [];
  for (const block of blocks) {
    if (block.type === 'section') {
      if (block.text) texts.push(block.text.text);
      for (const f of block.fields ?? []) texts.push(f.text);
    }
    if (block.type === 'context') for (const e of block.elements) texts.push(e.text);
  }
  return texts.join('\n');
}

describe('Slack Block Kit messages', () => {
  it('escapes &, < and > from event values in mrkdwn and in the text fallback', () => {
    const message = refundMessage(hostile, 'escalation', { playbook: 'Check A & B' });
    const mrkdwn = allMrkdwn(message.blocks);
    expect(mrkdwn).toContain('R-&lt;!channel&gt;');
    expect(mrkdwn).toContain('P-&lt;https://evil.example|click me&gt;');
    expect(mrkdwn).toContain('Tom &amp; Jerry &lt;b&gt;');
    expect(mrkdwn).toContain('*What to do:* Check A &amp; B');
    expect(mrkdwn).not.toMatch(/<!channel>|<https:/);
    expect(message.text).toBe('Escalation: refund R-&lt;!channel&gt; failed with RISK_REJECT (¥1,250), payment P-&lt;https://evil.example|click me&gt;');
  });

  it('opens with a header and carries the refund id, payment id, amount, status, reason and playbook', () => {
    const message = refundMessage({ ...hostile, refundKey: 'R-1', refundId: 'R-1', paymentId: 'P-1', resultMessage: undefined }, 'escalation', {
      playbook: 'Ask Antom.',
    });
    expect(message.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: ':rotating_light: Escalation: refund failed with RISK_REJECT', emoji: true } });
    const fields = (message.blocks[1] as Extract<SlackBlock, { type: 'section' }>).fields!.map((f) => f.text);
    expect(fields).toEqual(
      expect.arrayContaining(['*Refund*\nR-1', '*Payment*\nP-1', '*Amount*\n¥1,250', '*Status*\nFAIL', '*Reason*\nRISK_REJECT']),
    );
    expect(allMrkdwn(message.blocks)).toContain('Ask Antom.');
  });

  it('keeps within Block Kit limits: 10 fields a section, 150-character headers', () => {
    const long = 'x'.repeat(400);
    const message = refundMessage(
      { ...hostile, reasonCode: long, refundRequestId: 'REQ', merchantAccountId: 'M', paymentMethodType: 'CARD', refundTime: '2024-11-25T16:00:00Z', inquiries: 3, metadata: { orderId: 'O' }, resultCode: 'RC' },
      'ops-line',
    );
    const header = message.blocks[0] as Extract<SlackBlock, { type: 'header' }>;
    expect(header.text.text.length).toBeLessThanOrEqual(150);
    for (const block of message.blocks) if (block.type === 'section' && block.fields) expect(block.fields.length).toBeLessThanOrEqual(10);
    expect(message.blocks.filter((b) => b.type === 'section' && b.fields).length).toBe(2);
  });

  it('renders a group with count, totals and at most 20 refunds, the rest as "and N more"', () => {
    const refunds = Array.from({ length: 1000 }, (_, i) => ({
      refundKey: `R-${i}`,
      paymentId: `P-${i}`,
      refundAmount: { currency: i % 2 ? 'KWD' : 'JPY', value: '1500' },
      detectedAt: T0 + i,
    }));
    const message = groupMessage({ key: { template: 'escalation', parts: [{ field: 'reasonCode', value: 'RISK_REJECT' }] }, playbook: 'Ask Antom.', refunds, windowStart: T0, windowEnd: T0 + 999 });
    expect(message.text).toBe('Escalation: 1000 refunds failed with RISK_REJECT, ¥750,000 + KWD\u00a0750.000');
    const list = message.blocks.find((b) => b.type === 'section' && b.text?.text.startsWith('*Refunds*')) as Extract<SlackBlock, { type: 'section' }>;
    expect(list.text!.text.split('\n').filter((l) => l.startsWith('• '))).toHaveLength(20);
    expect(list.text!.text).toContain('_…and 980 more_');
    expect(list.text!.text.length).toBeLessThanOrEqual(3000);
    expect(message.blocks.at(-1)).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: 'This message is updated as more refunds arrive with the same code.' }] });
  });

  it('cuts a list that would overflow a section, counting what was cut', () => {
    const message = slackMessage({
      kind: 'group',
      severity: 'warning',
      title: 't',
      text: 't',
      facts: [],
      sections: [{ heading: 'Refunds', items: Array.from({ length: 20 }, () => 'y'.repeat(200)), more: 7 }],
    });
    const text = (message.blocks[1] as Extract<SlackBlock, { type: 'section' }>).text!.text;
    expect(text.length).toBeLessThanOrEqual(3000);
    const shown = text.split('\n').filter((l) => l.startsWith('• ')).length;
    expect(shown).toBeLessThan(20);
    expect(text).toContain(`_…and ${20 - shown + 7} more_`);
  });

  it('builds reminders and outage summaries with a text fallback', () => {
    const reminder = reminderMessage({ ...hostile, event: 'refund.stalled', status: 'PENDING' }, { reminder: 1, stalledSince: T0, now: T0 + 7_200_000 });
    expect(reminder.text).toBe('Reminder 1: refund R-&lt;!channel&gt; is still not final 2h after it stalled (last status PENDING)');
    const outage = outageMessage(outageSummary([{ template: 'ops-line', event: 'refund.completed' }]), { since: T0, until: T0 + 60_000 });
    expect(outage.text).toBe('1 notification was held back between 2024-11-25T16:00:00Z and 2024-11-25T16:01:00Z');
    expect(outage.blocks.length).toBeGreaterThan(1);
  });

  it('escapes exactly the three characters Slack asks for', () => {
    expect(escapeMrkdwn('a & b < c > d * _ ~ `')).toBe('a &amp; b &lt; c &gt; d * _ ~ `');
  });
});
