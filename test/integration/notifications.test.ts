import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/main.js';
import type { AntomSandbox } from '../../src/simulator/sandbox.js';
import type { Scenario } from '../../src/simulator/scenario.js';
import { until } from '../support/kafka.js';
import { configFrom, createServiceTopics, inProcessService, isolatedEnv, produce, refundRecord, testSandbox } from '../support/service.js';
import { startSlackStub, type SlackStub } from '../support/slack-stub.js';
import { startSmtpCapture, type SmtpCapture } from '../support/smtp.js';

const TOKEN = 'xoxb-test-token';

interface Case {
  id: string;
  scenario: Scenario;
  record?: Record<string, unknown>;
}

async function startAll(prefix: string, cases: Case[], over: Record<string, string> = {}) {
  const sandbox = await testSandbox();
  const slack = await startSlackStub({ token: TOKEN });
  const smtp = await startSmtpCapture();
  const env = isolatedEnv(prefix, {
    ...sandbox.serviceEnv('v2'),
    POLL_FIRST_DELAY: '100ms',
    POLL_MAX_INTERVAL: '2s',
    POLL_STALLED_AFTER: '3s',
    ANTOM_TIMEOUT: '2s',
    SLACK_BOT_TOKEN: TOKEN,
    SLACK_API_URL: slack.url,
    SMTP_URL: smtp.url,
    EMAIL_FROM: 'Acme Refunds <refunds@acme.example>',
    ESCALATION_EMAIL_TO: 'finance@acme.example',
    NOTIFY_GROUP_WINDOW: '6s',
    NOTIFY_GROUP_UPDATE_INTERVAL: '1s',
    STALLED_REMINDER_INTERVAL: '2s',
    ...over,
  });
  const config = configFrom(env);
  await createServiceTopics(config, 1);
  sandbox.createRefunds(cases.map((c) => ({ refundId: c.id, refundRequestId: `RQ-${c.id}`, paymentId: `P-${c.id}`, notify: false, ...c.scenario })));
  const service = inProcessService(config);
  await service.start();
  await produce(
    env.KAFKA_BROKERS!,
    config.values.TOPIC_REFUND_INITIATED,
    cases.map((c, i) => refundRecord(i, { refundId: c.id, refundRequestId: `RQ-${c.id}`, paymentId: `P-${c.id}`, ...c.record })),
  );
  return { sandbox, slack, smtp, service, config };
}

const to = (m: ParsedMail) => (Array.isArray(m.to) ? m.to : m.to ? [m.to] : []).flatMap((a) => a.value.map((v) => v.address));
const blocksText = (m: { text: string; blocks?: unknown[] }) => `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;

describe('notifications: Slack for operations, email for customers, escalations grouped', () => {
  let sandbox: AntomSandbox;
  let slack: SlackStub;
  let smtp: SmtpCapture;
  let service: Service;
  const balanceFailures = ['ESC-1', 'ESC-2', 'ESC-3', 'ESC-4', 'ESC-5', 'ESC-6'];

  beforeAll(async () => {
    ({ sandbox, slack, smtp, service } = await startAll('notify', [
      {
        id: 'C-JA',
        scenario: {},
        record: {
          refundAmount: { currency: 'JPY', value: 4800 },
          customer: { email: 'taro@example.jp', name: '<script>alert("x")</script> 太郎', locale: 'ja-JP' },
          metadata: { orderId: 'ORD-<b>7</b>' },
        },
      },
      { id: 'C-KWD', scenario: {}, record: { refundAmount: { currency: 'KWD', value: '12500' }, customer: { email: 'amal@example.kw', name: 'Amal', locale: 'en' } } },
      { id: 'C-FR', scenario: {}, record: { refundAmount: { currency: 'EUR', value: '1999' }, customer: { email: 'marie@example.fr', name: 'Marie', locale: 'fr-CA' } } },
      { id: 'C-PT', scenario: {}, record: { refundAmount: { currency: 'BRL', value: '1000' }, customer: { email: 'joao@example.br', name: 'João', locale: 'pt-BR' } } },
      { id: 'C-NOMAIL', scenario: {}, record: { customer: undefined } },
      ...balanceFailures.map((id) => ({
        id,
        scenario: { final: 'FAIL' as const, failCode: 'MERCHANT_BALANCE_NOT_ENOUGH', failureReporting: 'result-code' as const },
        record: { refundAmount: { currency: 'USD', value: '1000' }, customer: { email: `${id.toLowerCase()}@example.com` } },
      })),
      { id: 'STALL-1', scenario: { final: 'PENDING' }, record: { customer: undefined } },
    ]));
  });

  afterAll(async () => {
    await service?.stop();
    await Promise.all([sandbox?.close(), slack?.close(), smtp?.close()]);
  });

  it('emails each customer whose refund completed, once, in their language, with hostile values escaped', async () => {
    await until(() => smtp.messages.filter((m) => !to(m).includes('finance@acme.example')).length >= 4, { timeoutMs: 20_000, message: 'four customer emails' });
    const customers = smtp.messages.filter((m) => !to(m).includes('finance@acme.example'));
    expect(customers.map((m) => to(m)[0]).sort()).toEqual(['amal@example.kw', 'joao@example.br', 'marie@example.fr', 'taro@example.jp']);

    const ja = customers.find((m) => to(m)[0] === 'taro@example.jp')!;
    expect(ja.from?.text).toContain('refunds@acme.example');
    // Japanese template, yen without decimals.
    expect(ja.subject).toMatch(/返金/);
    expect(ja.text).toMatch(/[￥¥]4,800/);
    // HTML: the hostile name and order reference are escaped, never markup; text: as written.
    expect(ja.html).not.toMatch(/<script>/);
    expect(ja.html).toContain('&lt;script&gt;');
    expect(ja.html).not.toContain('<b>7</b>');
    expect(ja.text).toContain('<script>alert("x")</script> 太郎');
    expect(ja.messageId).toMatch(/^<.+@acme\.example>$/);

    const kwd = customers.find((m) => to(m)[0] === 'amal@example.kw')!;
    expect(kwd.text).toMatch(/KWD\s?12\.500/);
    const fr = customers.find((m) => to(m)[0] === 'marie@example.fr')!;
    expect(fr.subject).toMatch(/remboursement/i);
    expect(fr.text).toMatch(/19,99\s?€/);
    // The Brazilian Portuguese template, in Brazilian formatting.
    const pt = customers.find((m) => to(m)[0] === 'joao@example.br')!;
    expect(pt.subject).toMatch(/reembolso/i);
    expect(pt.text).toMatch(/R\$\s?10,00/);
  });

  it('posts a line per outcome in the ops channel', async () => {
    await until(() => slack.messages().filter((m) => m.channel === channel('#refunds')).length >= 11, { timeoutMs: 20_000, message: 'ops lines' });
    const ops = slack.messages().filter((m) => m.channel === channel('#refunds'));
    for (const id of ['C-JA', 'C-KWD', 'C-FR', 'C-PT', 'C-NOMAIL', ...balanceFailures]) {
      expect(ops.filter((m) => blocksText(m).includes(id)), id).toHaveLength(1);
    }
  });

  it('groups escalations of one code into one Slack message updated in place, and one summary email', async () => {
    const escalation = () => slack.messages().filter((m) => m.channel === channel('#refund-escalations') && blocksText(m).includes('MERCHANT_BALANCE_NOT_ENOUGH'));
    await until(() => escalation().length === 1 && /\b6 refunds\b/i.test(blocksText(escalation()[0]!)), { timeoutMs: 30_000, message: 'one group message showing 6 refunds' });
    const posts = slack.calls.filter((c) => c.method === 'chat.postMessage' && JSON.stringify(c.body).includes('MERCHANT_BALANCE_NOT_ENOUGH') && String(c.body.channel).includes('escalations'));
    expect(posts).toHaveLength(1);
    expect(slack.calls.filter((c) => c.method === 'chat.update').length).toBeGreaterThanOrEqual(1);
    const text = blocksText(escalation()[0]!);
    for (const id of balanceFailures) expect(text).toContain(id);
    expect(text).toMatch(/US\$\s?60\.00|\$60\.00/);
    expect(text).toMatch(/balance/i); // the playbook line

    // Email: the first at once, the other five in one summary when the 6 s window closes.
    await until(() => smtp.messages.filter((m) => to(m).includes('finance@acme.example')).length >= 2, { timeoutMs: 30_000, message: 'first escalation email and the summary' });
    const finance = smtp.messages.filter((m) => to(m).includes('finance@acme.example') && /MERCHANT_BALANCE_NOT_ENOUGH/.test(`${m.subject} ${m.text}`));
    expect(finance).toHaveLength(2);
    const listed = finance.map((m) => balanceFailures.filter((id) => m.text?.includes(id)).length).sort();
    expect(listed).toEqual([1, 5]);
  });

  it('escalates a stalled refund in its own message and reminds in its thread', async () => {
    const stalledPost = () => slack.messages().find((m) => m.channel === channel('#refund-escalations') && blocksText(m).includes('STALL-1') && !m.threadTs);
    await until(() => stalledPost(), { timeoutMs: 20_000, message: 'stalled message' });
    await until(
      async () => {
        await service.scheduler.runNow('stalled-reminders');
        return slack.messages().some((m) => m.threadTs === stalledPost()!.ts);
      },
      { timeoutMs: 20_000, intervalMs: 500, message: 'a reminder in the thread' },
    );
    const reply = slack.messages().find((m) => m.threadTs === stalledPost()!.ts)!;
    expect(blocksText(reply)).toMatch(/still not final/i);
    expect((await service.store.getRefund('STALL-1'))?.status).toBe('stalled');
  });

  it('never emails a customer twice, and records what was sent to whom', async () => {
    const customers = smtp.messages.filter((m) => !to(m).includes('finance@acme.example')).map((m) => to(m)[0]);
    expect(new Set(customers).size).toBe(customers.length);
    const sent = await service.store.listOutbox({ refundKey: 'C-JA', kind: 'delivery' });
    expect(sent.map((e) => [e.channel, e.status]).sort()).toEqual([
      ['customer', 'sent'],
      ['slack:#refunds', 'sent'],
    ]);
  });
});

describe('notifications when a receiver fails', () => {
  let sandbox: AntomSandbox;
  let slack: SlackStub;
  let smtp: SmtpCapture;
  let service: Service;

  afterAll(async () => {
    await service?.stop();
    await Promise.all([sandbox?.close(), slack?.close(), smtp?.close()]);
  });

  beforeAll(async () => {
    ({ sandbox, slack, smtp, service } = await startAll(
      'fallback',
      [
        { id: 'F-RISK', scenario: { final: 'FAIL', failCode: 'RISK_REJECT', failureReporting: 'result-code', pendingInquiries: 1 } },
        ...['O-1', 'O-2', 'O-3', 'O-4', 'O-5'].map((id) => ({ id, scenario: {}, record: { customer: undefined } })),
      ],
      { NOTIFY_FALLBACK_AFTER: '1s', NOTIFY_STALE_AFTER: '2s' },
    ));
  });

  it('Slack down: an escalation goes to the escalation email list instead, saying why', async () => {
    slack.setDown(true);
    const fallback = () => smtp.messages.find((m) => to(m).includes('finance@acme.example') && /F-RISK/.test(m.text ?? '') && /instead of slack:#refund-escalations/.test(m.text ?? ''));
    await until(fallback, { timeoutMs: 30_000, message: 'the escalation arrives by email' });
    const email = fallback()!;
    expect(email.text).toMatch(/Sent here instead of slack:#refund-escalations, which failed: .*503/);
    expect(email.text).toMatch(/RISK_REJECT/);
    // The Slack delivery fell back with its group; its next attempt finds the group gone to email
    // and is given up saying so (visible in /admin/outbox?status=dead), never sent twice.
    const dead = async () => (await service.store.listOutbox({ status: 'dead', refundKey: 'F-RISK' })).map((e) => e.lastError);
    await until(async () => (await dead()).length > 0, { timeoutMs: 30_000, message: 'the Slack delivery is given up' });
    expect(await dead()).toEqual([expect.stringMatching(/^fell back to email:finance@acme\.example/)]);
  });

  it('after the outage, the stale backlog arrives as one summary, not a flood of stale posts', async () => {
    // The five completed refunds' ops lines have been failing while Slack was down.
    const opsLines = async () => (await service.store.listOutbox({ status: 'pending', kind: 'delivery' })).filter((e) => e.refundKey.startsWith('O-'));
    await until(async () => (await opsLines()).length === 5, {
      timeoutMs: 20_000,
      message: 'five ops lines waiting',
    });
    await until(async () => {
      return (await opsLines()).every((e) => Date.now() - e.createdAt > 2_000);
    }, { message: 'the backlog is stale' });
    const held = (await service.store.listOutbox({ status: 'pending', kind: 'delivery' })).filter((e) => e.channel === 'slack:#refunds').length;
    expect(held).toBeGreaterThanOrEqual(5);
    const before = slack.calls.length;
    slack.setDown(false);
    await until(() => slack.messages().some((m) => /held back/i.test(m.text)), { timeoutMs: 30_000, message: 'a backlog summary' });
    await until(async () => (await service.store.listOutbox({ status: 'pending', kind: 'delivery' })).length === 0, { timeoutMs: 20_000 });
    const after = slack.calls.slice(before).filter((c) => c.ok && c.method === 'chat.postMessage' && String(c.body.channel) === '#refunds');
    expect(after).toHaveLength(1);
    expect(JSON.stringify(after[0]!.body)).toMatch(new RegExp(`${held} notifications`));
    // Every one of them is accounted for: sent as part of the summary.
    expect((await service.store.listOutbox({ kind: 'delivery', limit: 500 })).filter((e) => e.refundKey.startsWith('O-')).map((e) => e.status)).toEqual([
      'sent',
      'sent',
      'sent',
      'sent',
      'sent',
    ]);
  });

  it('an escalation email the server refuses goes to the escalation channel instead', async () => {
    smtp.failNext(5, 550, 'mailbox unavailable');
    // A fresh escalation, of a code no open group has.
    sandbox.createRefund({ refundId: 'F-RISK-2', refundRequestId: 'RQ-F-RISK-2', paymentId: 'P-F-RISK-2', final: 'FAIL', failCode: 'REFUND_AMOUNT_EXCEED', failureReporting: 'result-code', notify: false });
    await produceOne('F-RISK-2');
    await until(() => slack.messages().some((m) => m.channel === channel('#refund-escalations') && /F-RISK-2/.test(blocksText(m)) && /instead of email:finance@acme\.example/.test(blocksText(m))), {
      timeoutMs: 30_000,
      message: 'the refused email arrives in Slack',
    });
  });

  async function produceOne(id: string) {
    const { testBrokers } = await import('../support/kafka.js');
    const topic = (await service.store.getRefund('O-1'))!.origin.topic;
    await produce(testBrokers(), topic, [refundRecord(99, { refundId: id, refundRequestId: `RQ-${id}`, paymentId: `P-${id}`, customer: undefined })]);
  }
});

/** The stub's stable fake id for a channel name (as Slack answers chat.postMessage). */
function channel(name: string): string {
  return stubChannelId(name);
}
import { channelId as stubChannelId } from '../../src/devtools/slack-stub.js';
