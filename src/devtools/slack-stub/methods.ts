/**
 * What the Slack stub answers to each method, as Slack would: chat.postMessage, chat.update and
 * an incoming webhook, and the failures a test asked for. Each handler returns its answer; the
 * router in ../slack-stub.ts records and sends it.
 */
import { channelId, formatForTerminal } from './format.js';
import type { StubAnswer } from './http.js';
import { messageKey, type StubState } from './state.js';
import type { SlackStubFailure, SlackStubMessage, SlackStubMethod } from './types.js';

export interface StubRequest {
  readonly body: Record<string, any>;
  readonly authorization: string | undefined;
}

export interface StubContext {
  readonly state: StubState;
  /** When set, API calls without `Authorization: Bearer <token>` get `invalid_auth`. */
  readonly token: string | undefined;
  /** When set, posts to channels outside this list get `channel_not_found`. */
  readonly channels: readonly string[] | undefined;
  readonly print: ((text: string) => void) | undefined;
}

/**
 * A refused request. The Web API answers `{ ok: false, error }`; a webhook answers plain text,
 * the error itself unless Slack words it differently (`text`).
 */
export function refusal(
  method: SlackStubMethod | undefined,
  status: number,
  error: string,
  options: { text?: string; headers?: Record<string, string> } = {},
): StubAnswer {
  return { status, error, headers: options.headers, body: method === 'webhook' ? options.text ?? error : { ok: false, error } };
}

/** The answer to a request the test told to fail (a hang is not a failure: it is waited out first). */
export function failureAnswer(method: SlackStubMethod, failure: Exclude<SlackStubFailure, { hangMs: number }>): StubAnswer {
  if ('slackError' in failure) return refusal(method, method === 'webhook' ? 404 : 200, failure.slackError);
  if (failure.status === 429) {
    return refusal(method, 429, 'ratelimited', { text: 'rate_limited', headers: { 'retry-after': String(failure.retryAfterSec) } });
  }
  return refusal(method, failure.status, 'server_error');
}

export function answerWebhook(request: StubRequest, ctx: StubContext): StubAnswer {
  const { body } = request;
  if (typeof body.text !== 'string' && !Array.isArray(body.blocks)) return refusal('webhook', 400, 'invalid_payload');
  const message: SlackStubMessage = {
    channel: 'webhook',
    ts: ctx.state.nextTs(),
    text: String(body.text ?? ''),
    blocks: Array.isArray(body.blocks) ? body.blocks : undefined,
    updates: 0,
    via: 'webhook',
  };
  ctx.state.messages.set(messageKey(message.channel, message.ts), message);
  ctx.print?.(formatForTerminal('post', message));
  return { status: 200, body: 'ok' };
}

export function answerPostMessage(request: StubRequest, ctx: StubContext): StubAnswer {
  const refused = refuseApiCall('chat.postMessage', request, ctx);
  if (refused) return refused;
  const { body } = request;
  const channelName = String(body.channel);
  const channel = channelId(channelName);
  const threadTs = typeof body.thread_ts === 'string' && body.thread_ts !== '' ? body.thread_ts : undefined;
  if (threadTs !== undefined && !ctx.state.messages.has(messageKey(channel, threadTs))) {
    return refusal('chat.postMessage', 200, 'thread_not_found');
  }
  const message: SlackStubMessage = {
    channel,
    ts: ctx.state.nextTs(),
    text: String(body.text ?? ''),
    blocks: Array.isArray(body.blocks) ? body.blocks : undefined,
    threadTs,
    updates: 0,
    via: 'api',
  };
  ctx.state.messages.set(messageKey(channel, message.ts), message);
  ctx.print?.(formatForTerminal(threadTs ? 'reply' : 'post', message, channelName));
  return {
    status: 200,
    body: {
      ok: true,
      channel,
      ts: message.ts,
      message: { type: 'message', text: message.text, ts: message.ts, thread_ts: threadTs, blocks: message.blocks },
    },
  };
}

export function answerUpdate(request: StubRequest, ctx: StubContext): StubAnswer {
  const refused = refuseApiCall('chat.update', request, ctx);
  if (refused) return refused;
  const { body } = request;
  const channelName = String(body.channel);
  const channel = channelId(channelName);
  const ts = typeof body.ts === 'string' ? body.ts : '';
  const existing = ctx.state.messages.get(messageKey(channel, ts));
  if (!existing) return refusal('chat.update', 200, 'message_not_found');
  existing.text = String(body.text ?? existing.text);
  if (Array.isArray(body.blocks)) existing.blocks = body.blocks;
  existing.updates += 1;
  ctx.print?.(formatForTerminal('update', existing, channelName));
  return { status: 200, body: { ok: true, channel, ts, text: existing.text, message: { text: existing.text, blocks: existing.blocks } } };
}

/** What Slack checks before any Web API method: the token, the channel, that there is something to post. */
function refuseApiCall(method: SlackStubMethod, request: StubRequest, ctx: StubContext): StubAnswer | undefined {
  const { body, authorization } = request;
  if (ctx.token !== undefined && authorization !== `Bearer ${ctx.token}` && body.token !== ctx.token) {
    return refusal(method, 200, 'invalid_auth');
  }
  const channelName = typeof body.channel === 'string' ? body.channel : '';
  if (channelName === '') return refusal(method, 200, 'channel_not_found');
  if (ctx.channels && !ctx.channels.includes(channelName) && !ctx.channels.map(channelId).includes(channelName)) {
    return refusal(method, 200, 'channel_not_found');
  }
  if (typeof body.text !== 'string' && !Array.isArray(body.blocks)) return refusal(method, 200, 'no_text');
  return undefined;
}
