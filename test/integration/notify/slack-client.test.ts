import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { refundMessage } from '../../../src/adapters/slack/blocks.js';
import { SlackError, createSlackNotifier, type SlackNotifier } from '../../../src/adapters/slack/client.js';
import type { NotificationSubject } from '../../../src/domain/routing.js';
import { startSlackStub, type SlackStub } from '../../support/slack-stub.js';
import { captureLogs } from './log-capture.js';

const TOKEN = 'xoxb-test-secret-token-1234567890';

const subject: NotificationSubject = {
  event: 'refund.failed',
  refundKey: 'R-1',
  refundId: 'R-1',
  paymentId: 'P-1',
  status: 'FAIL',
  reasonCode: 'RISK_REJECT',
  refundAmount: { currency: 'KWD', value: '1250' },
  detectedAt: Date.UTC(2024, 10, 25, 16),
};

let stub: SlackStub;
const logs = captureLogs();

beforeAll(async () => {
  stub = await startSlackStub({ token: TOKEN });
});
afterEach(() => stub.reset());
afterAll(async () => {
  await stub.close();
  // Whatever happened above, the token never reached a log line.
  expect(logs.text()).not.toContain(TOKEN);
});

/** A bot-mode notifier whose waits are recorded and skipped, so Retry-After is checked, not slept. */
function bot(settings: { maxRetries?: number; timeoutMs?: number; maxRetryAfterMs?: number; token?: string; apiUrl?: string } = {}) {
  const waits: number[] = [];
  const notifier = createSlackNotifier(
    { botToken: settings.token ?? TOKEN, apiUrl: settings.apiUrl ?? stub.url, ...settings },
    { logger: logs.logger, sleep: async (ms) => void waits.push(ms) },
  );
  return { notifier, waits };
}

async function failure(promise: Promise<unknown>): Promise<SlackError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SlackError);
    return err as SlackError;
  }
  throw new Error('expected the call to fail');
}

describe('Slack notifier, bot mode (Web API)', () => {
  it('posts Block Kit with a text fallback and returns the ts and channel id', async () => {
    const { notifier } = bot();
    expect(notifier.mode).toBe('bot');
    const message = refundMessage(subject, 'escalation', { playbook: 'Ask Antom.' });
    const posted = await notifier.postMessage({ channel: '#refund-escalations', ...message });
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(posted.channel).toMatch(/^C[A-Z0-9]+$/);
    expect(stub.calls).toHaveLength(1);
    const call = stub.calls[0]!;
    expect(call.method).toBe('chat.postMessage');
    expect(call.authorization).toBe(`Bearer ${TOKEN}`);
    expect(call.body.channel).toBe('#refund-escalations');
    expect(call.body.text).toBe(message.text);
    expect(call.body.blocks).toEqual(message.blocks);
    expect(call.body.unfurl_links).toBe('false');
  });

  it('updates a message in place and replies in its thread', async () => {
    const { notifier } = bot();
    const first = await notifier.postMessage({ channel: '#refund-escalations', text: 'one refund' });
    await notifier.updateMessage({ channel: first.channel!, ts: first.ts!, text: 'two refunds', blocks: [{ type: 'divider' }] });
    const reply = await notifier.postMessage({ channel: first.channel!, text: 'reminder', threadTs: first.ts! });
    expect(stub.calls.map((c) => c.method)).toEqual(['chat.postMessage', 'chat.update', 'chat.postMessage']);
    const [parent, threaded] = stub.messages();
    expect(parent).toMatchObject({ ts: first.ts, text: 'two refunds', updates: 1, blocks: [{ type: 'divider' }] });
    expect(threaded).toMatchObject({ ts: reply.ts, threadTs: first.ts, text: 'reminder' });
    expect(reply.ts! > first.ts!).toBe(true);
  });

  it('honours a short Retry-After on 429 and then succeeds', async () => {
    const { notifier, waits } = bot();
    stub.failNext(1, { status: 429, retryAfterSec: 2 });
    const posted = await notifier.postMessage({ channel: '#refunds', text: 'x' });
    expect(posted.ts).toBeDefined();
    expect(waits).toEqual([2000]);
    expect(stub.calls.map((c) => c.status)).toEqual([429, 200]);
  });

  it('hands a long Retry-After back as a retriable error with retryAfterMs, without waiting', async () => {
    const { notifier, waits } = bot({ maxRetryAfterMs: 10_000 });
    stub.failNext(1, { status: 429, retryAfterSec: 120 });
    const error = await failure(notifier.postMessage({ channel: '#refunds', text: 'x' }));
    expect(error).toMatchObject({ retriable: true, code: 'SLACK_RATE_LIMITED', slackError: 'ratelimited', status: 429, retryAfterMs: 120_000 });
    expect(waits).toEqual([]);
    expect(stub.calls).toHaveLength(1);
  });

  it('stops honouring Retry-After after maxRetries and surfaces a retriable error', async () => {
    const { notifier, waits } = bot({ maxRetries: 2 });
    stub.failNext(5, { status: 429, retryAfterSec: 1 });
    const error = await failure(notifier.updateMessage({ channel: 'C0000001', ts: '1.000100', text: 'x' }));
    expect(error).toMatchObject({ retriable: true, retryAfterMs: 1000 });
    expect(waits).toEqual([1000, 1000]);
    expect(stub.calls).toHaveLength(3);
  });

  it('retries a 5xx and succeeds', async () => {
    const { notifier } = bot();
    stub.failNext(1, { status: 500 });
    await notifier.postMessage({ channel: '#refunds', text: 'x' });
    expect(stub.calls.map((c) => c.status)).toEqual([500, 200]);
  });

  it('gives up on repeated 5xx after the bounded retries, as a retriable error', async () => {
    const { notifier } = bot({ maxRetries: 1 });
    stub.failNext(5, { status: 503 });
    const error = await failure(notifier.postMessage({ channel: '#refunds', text: 'x' }));
    expect(error).toMatchObject({ retriable: true, code: 'SLACK_HTTP_503', status: 503 });
    expect(stub.calls).toHaveLength(2);
  });

  it('treats channel_not_found, not_in_channel and invalid_auth as permanent, keeping Slack\'s code', async () => {
    const { notifier } = bot();
    stub.failNext(1, { slackError: 'channel_not_found' });
    expect(await failure(notifier.postMessage({ channel: '#nowhere', text: 'x' }))).toMatchObject({
      retriable: false,
      code: 'SLACK_CHANNEL_NOT_FOUND',
      slackError: 'channel_not_found',
      message: 'Slack chat.postMessage failed: channel_not_found',
    });
    stub.failNext(1, { slackError: 'not_in_channel' });
    expect(await failure(notifier.postMessage({ channel: '#private', text: 'x' }))).toMatchObject({ retriable: false, slackError: 'not_in_channel' });
    const wrongToken = bot({ token: 'xoxb-wrong' }).notifier;
    expect(await failure(wrongToken.postMessage({ channel: '#refunds', text: 'x' }))).toMatchObject({ retriable: false, slackError: 'invalid_auth' });
    // Nothing was retried.
    expect(stub.calls).toHaveLength(3);
  });

  it('treats internal_error from Slack as retriable', async () => {
    const { notifier } = bot({ maxRetries: 0 });
    stub.failNext(1, { slackError: 'internal_error' });
    expect(await failure(notifier.postMessage({ channel: '#refunds', text: 'x' }))).toMatchObject({ retriable: true, slackError: 'internal_error' });
  });

  it('times out a request that hangs, as a retriable error', async () => {
    const { notifier } = bot({ timeoutMs: 200, maxRetries: 0 });
    stub.failNext(1, { hangMs: 1_000 });
    expect(await failure(notifier.postMessage({ channel: '#refunds', text: 'x' }))).toMatchObject({ retriable: true, code: 'SLACK_TIMEOUT' });
  });

  it('reports an unreachable API as a retriable network error', async () => {
    const down = await startSlackStub();
    const url = down.url;
    await down.close();
    const { notifier } = bot({ apiUrl: url, maxRetries: 0 });
    expect(await failure(notifier.postMessage({ channel: '#refunds', text: 'x' }))).toMatchObject({ retriable: true, code: 'SLACK_NETWORK' });
  });

  it('answers 503 to everything while the stub is down, and recovers', async () => {
    const { notifier } = bot({ maxRetries: 0 });
    stub.setDown(true);
    expect(await failure(notifier.postMessage({ channel: '#refunds', text: 'x' }))).toMatchObject({ retriable: true, status: 503 });
    stub.setDown(false);
    await notifier.postMessage({ channel: '#refunds', text: 'x' });
    expect(stub.messages()).toHaveLength(1);
  });
});

describe('Slack stub as the demo uses it', () => {
  it('prints each accepted message as readable text', async () => {
    const printed: string[] = [];
    const printing = await startSlackStub({ print: (text) => printed.push(text) });
    try {
      const notifier = createSlackNotifier({ botToken: TOKEN, apiUrl: printing.url }, { logger: logs.logger });
      const posted = await notifier.postMessage({ channel: '#refund-escalations', ...refundMessage(subject, 'escalation', { playbook: 'Ask Antom.' }) });
      await notifier.postMessage({ channel: posted.channel!, text: 'reminder', threadTs: posted.ts! });
      expect(printed[0]).toContain(`── Slack #refund-escalations · post ${posted.ts} ──`);
      expect(printed[0]).toContain(':rotating_light: Escalation: refund failed with RISK_REJECT');
      expect(printed[0]).toContain('  Amount: KWD\u00a01.250');
      expect(printed[0]).toContain('*What to do:* Ask Antom.');
      expect(printed[1]).toContain(`reply in thread ${posted.ts}`);
    } finally {
      await printing.close();
    }
  });
});

describe('Slack notifier, webhook mode', () => {
  function webhook(maxRetries = 2): { notifier: SlackNotifier; waits: number[] } {
    const waits: number[] = [];
    const notifier = createSlackNotifier(
      { webhookUrl: stub.webhookUrl, apiUrl: stub.url, maxRetries },
      { logger: logs.logger, sleep: async (ms) => void waits.push(ms) },
    );
    return { notifier, waits };
  }

  it('posts JSON to the webhook, returns no ts, and cannot update', async () => {
    const { notifier } = webhook();
    expect(notifier.mode).toBe('webhook');
    const message = refundMessage(subject, 'ops-line');
    expect(await notifier.postMessage({ channel: '#refunds', ...message })).toEqual({});
    await notifier.updateMessage({ channel: 'C1', ts: '1.000100', text: 'ignored' });
    expect(stub.calls.map((c) => c.method)).toEqual(['webhook']);
    expect(stub.calls[0]!.body).toEqual({ text: message.text, blocks: message.blocks, unfurl_links: false, unfurl_media: false });
    expect(stub.messages()[0]).toMatchObject({ via: 'webhook', text: message.text });
  });

  it('retries 5xx and honours Retry-After, bounded', async () => {
    const { notifier, waits } = webhook();
    stub.failNext(1, { status: 502 });
    stub.failNext(1, { status: 429, retryAfterSec: 3 });
    await notifier.postMessage({ channel: '#refunds', text: 'x' });
    expect(stub.calls.map((c) => c.status)).toEqual([502, 429, 200]);
    expect(waits).toEqual([500, 3000]);
  });

  it('surfaces a removed webhook as permanent and an outage as retriable', async () => {
    const { notifier } = webhook(0);
    stub.failNext(1, { slackError: 'channel_not_found' });
    expect(await failure(notifier.postMessage({ channel: '#refunds', text: 'x' }))).toMatchObject({
      retriable: false,
      status: 404,
      slackError: 'channel_not_found',
      code: 'SLACK_CHANNEL_NOT_FOUND',
    });
    stub.failNext(1, { status: 503 });
    expect(await failure(notifier.postMessage({ channel: '#refunds', text: 'x' }))).toMatchObject({ retriable: true, status: 503 });
  });
});

describe('Slack notifier, not configured', () => {
  it('refuses to send, permanently, so the caller can fall back', async () => {
    const notifier = createSlackNotifier({ apiUrl: stub.url }, { logger: logs.logger });
    expect(notifier.mode).toBe('off');
    expect(await failure(notifier.postMessage({ channel: '#refunds', text: 'x' }))).toMatchObject({ retriable: false, code: 'SLACK_NOT_CONFIGURED' });
  });
});
