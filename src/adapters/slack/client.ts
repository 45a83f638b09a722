import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCode, WebClient, type KnownBlock, type Logger as SlackLogger, LogLevel } from '@slack/web-api';
import { request } from 'undici';
import { exponentialBackoff } from '../../domain/backoff.js';
import { RefundNotifierError } from '../../domain/errors.js';
import type { Logger } from '../log/logger.js';
import type { SlackBlock } from './blocks.js';

/**
 * Slack delivery, by bot token (Web API: post, update in place, reply in a thread) or, where no
 * token is configured, by incoming webhook (post only). Each call either succeeds or throws a
 * SlackError whose `retriable` flag tells the outbox dispatcher whether to try again later.
 *
 * Retries here are few and short on purpose: they absorb a blip (one 5xx, one reset connection,
 * one short Retry-After) while the dispatcher waits for this call. Longer trouble is the outbox's
 * to handle: it reschedules, falls back to email, and coalesces the backlog.
 */

export type SlackMode = 'bot' | 'webhook' | 'off';

export interface SlackSettings {
  readonly botToken?: string;
  readonly webhookUrl?: string;
  /** SLACK_API_URL, e.g. https://slack.com/api (a trailing / is added). */
  readonly apiUrl: string;
  /**
   * Per HTTP request. 10 s: Slack answers chat.postMessage in well under a second when healthy,
   * so a request still open after 10 s is better abandoned and retried than waited on.
   */
  readonly timeoutMs?: number;
  /**
   * Extra attempts after a 5xx, a timeout or a network error, and after a 429 whose Retry-After
   * is short. 2: three attempts over about 1.5 s ride out a restarting load balancer.
   */
  readonly maxRetries?: number;
  /**
   * The longest Retry-After honoured in place. A 429 asking for longer throws a retriable error
   * with `retryAfterMs`, so the dispatcher reschedules instead of holding a worker. 10 s: Slack's
   * chat.postMessage limit is about one message per second per channel, so its Retry-After is
   * normally a few seconds; a minute means the workspace is being throttled.
   */
  readonly maxRetryAfterMs?: number;
}

export interface PostMessageInput {
  readonly channel: string;
  readonly text: string;
  readonly blocks?: readonly SlackBlock[];
  /** Reply in this message's thread (bot mode only). */
  readonly threadTs?: string;
}

export interface UpdateMessageInput {
  /** The channel *id* returned by postMessage (chat.update does not take a channel name). */
  readonly channel: string;
  readonly ts: string;
  readonly text: string;
  readonly blocks?: readonly SlackBlock[];
}

export interface SlackNotifier {
  readonly mode: SlackMode;
  /**
   * Posts a message. Bot mode returns the message's `ts` and the channel id (keep both: they
   * address chat.update and thread replies). Webhook mode returns `{}`: a webhook posts to its
   * own fixed channel, ignores `channel` and `threadTs`, and says nothing about the message.
   */
  postMessage(input: PostMessageInput): Promise<{ ts?: string; channel?: string }>;
  /**
   * Rewrites a message in place (bot mode). In webhook mode it is a no-op: a webhook cannot edit,
   * and re-posting every update of a growing group would flood the channel it is meant to spare.
   * Callers that want a new post in webhook mode call postMessage.
   */
  updateMessage(input: UpdateMessageInput): Promise<void>;
}

/**
 * A failed Slack call. `slackError` is Slack's own error code (channel_not_found, ratelimited, …).
 * It never carries the library's error as `cause`: @slack/web-api's request errors hold the axios
 * request, Authorization header included, and a logged cause would print the token.
 */
export class SlackError extends RefundNotifierError {
  readonly slackError?: string;
  readonly status?: number;

  /** `retryAfterMs` is set on 429: when Slack will accept the call again. */
  constructor(
    message: string,
    options: { code: string; retriable: boolean; slackError?: string; status?: number; retryAfterMs?: number },
  ) {
    super(message, { code: options.code, retriable: options.retriable, retryAfterMs: options.retryAfterMs });
    this.name = 'SlackError';
    if (options.slackError !== undefined) this.slackError = options.slackError;
    if (options.status !== undefined) this.status = options.status;
  }
}

/**
 * Slack error codes worth another attempt later; every other `ok: false` answer
 * (channel_not_found, not_in_channel, invalid_auth, token_revoked, invalid_blocks, msg_too_long, …)
 * will fail the same way until someone changes the configuration or the message.
 */
const RETRIABLE_SLACK_ERRORS = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RETRIES = 2;
const DEFAULT_MAX_RETRY_AFTER_MS = 10_000;
// Backoff between attempts after a 5xx or a network error: 500 ms, then 1 s (factor 2), never
// above 4 s; short enough that the dispatcher's call stays well inside its own lease.
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 4_000;

export function createSlackNotifier(
  settings: SlackSettings,
  deps: { logger: Logger; sleep?: (ms: number) => Promise<void> },
): SlackNotifier {
  const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxRetries = settings.maxRetries ?? DEFAULT_MAX_RETRIES;
  const maxRetryAfterMs = settings.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const sleep = deps.sleep ?? ((ms: number) => delay(ms));
  const logger = deps.logger.child({ component: 'slack' });

  if (settings.botToken) {
    return createBotNotifier(settings.botToken, settings.apiUrl, { timeoutMs, maxRetries, maxRetryAfterMs, sleep, logger });
  }
  if (settings.webhookUrl) {
    return createWebhookNotifier(settings.webhookUrl, { timeoutMs, maxRetries, maxRetryAfterMs, sleep, logger });
  }
  const off = (): never => {
    throw new SlackError('Slack is not configured (no SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL)', {
      code: 'SLACK_NOT_CONFIGURED',
      retriable: false,
    });
  };
  return { mode: 'off', postMessage: async () => off(), updateMessage: async () => off() };
}

interface Limits {
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly maxRetryAfterMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly logger: Logger;
}

function createBotNotifier(token: string, apiUrl: string, limits: Limits): SlackNotifier {
  const client = new WebClient(token, {
    slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`,
    timeout: limits.timeoutMs,
    // 5xx and network errors: retried by the client itself, boundedly (p-retry options).
    retryConfig: { retries: limits.maxRetries, factor: 2, minTimeout: BACKOFF_MIN_MS, maxTimeout: BACKOFF_MAX_MS, randomize: true },
    // 429s come back to us instead of the client sleeping inside: its own wait is unbounded (it
    // sleeps the full Retry-After, then retries within retryConfig), while here a short
    // Retry-After is waited out and a long one is handed to the outbox with retryAfterMs.
    rejectRateLimitedCalls: true,
    // The token must never reach a log line: the client's own debug lines redact it, and the
    // adapter below drops them (its level starts at WARN).
    logger: slackLogger(limits.logger),
  });

  const call = async <T>(method: string, run: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await run();
      } catch (err) {
        const error = mapWebApiError(method, err);
        const wait = error.retryAfterMs;
        if (wait !== undefined && wait <= limits.maxRetryAfterMs && attempt < limits.maxRetries) {
          limits.logger.info({ method, retryAfterMs: wait, attempt: attempt + 1 }, 'slack rate limited; waiting as Retry-After asks');
          await limits.sleep(wait);
          continue;
        }
        throw error;
      }
    }
  };

  return {
    mode: 'bot',
    async postMessage(input) {
      const result = await call('chat.postMessage', () =>
        client.chat.postMessage({
          channel: input.channel,
          text: input.text,
          ...(input.blocks ? { blocks: input.blocks as unknown as KnownBlock[] } : {}),
          thread_ts: input.threadTs || undefined,
          // Refund messages carry no links worth a preview; a preview of a hostile URL in an
          // event value would be worse than none.
          unfurl_links: false,
          unfurl_media: false,
        }),
      );
      limits.logger.debug({ channel: result.channel, ts: result.ts, thread: input.threadTs }, 'slack message posted');
      return {
        ts: result.ts,
        channel: result.channel,
      };
    },
    async updateMessage(input) {
      await call('chat.update', () =>
        client.chat.update({
          channel: input.channel,
          ts: input.ts,
          text: input.text,
          ...(input.blocks ? { blocks: input.blocks as unknown as KnownBlock[] } : {}),
        }),
      );
      limits.logger.debug({ channel: input.channel, ts: input.ts }, 'slack message updated');
    },
  };
}

/** @slack/web-api's errors, sorted into retriable and not, with Slack's error code kept. */
function mapWebApiError(method: string, err: unknown): SlackError {
  const e = err as {
    code?: string;
    message?: string;
    data?: { error?: string };
    statusCode?: number;
    retryAfter?: number;
    original?: { code?: string; message?: string };
  };
  switch (e.code) {
    case ErrorCode.PlatformError: {
      const slackError = e.data?.error ?? 'unknown_error';
      return new SlackError(`Slack ${method} failed: ${slackError}`, {
        code: `SLACK_${slackError.toUpperCase()}`,
        retriable: RETRIABLE_SLACK_ERRORS.has(slackError),
        slackError
      });
    }
    case ErrorCode.RateLimitedError: {
      const retryAfterMs = Math.max(0, (e.retryAfter ?? 1) * 1000);
      return new SlackError(`Slack ${method} rate limited: retry after ${retryAfterMs} ms`, {
        code: 'SLACK_RATE_LIMITED',
        retriable: true,
        slackError: 'ratelimited',
        status: 429,
        retryAfterMs
      });
    }
    case ErrorCode.HTTPError: {
      const status = e.statusCode ?? 0;
      // 5xx: Slack or a proxy in trouble. 408: a proxy's timeout. Other 4xx: a wrong SLACK_API_URL
      // or a request Slack will never take; trying again changes nothing.
      return new SlackError(`Slack ${method} answered HTTP ${status}`, {
        code: `SLACK_HTTP_${status}`,
        retriable: status >= 500 || status === 408,
        status
      });
    }
    case ErrorCode.RequestError: {
      const inner = e.original?.code ?? 'NETWORK';
      const timedOut = inner === 'ECONNABORTED' || inner === 'ETIMEDOUT' || /timeout/i.test(e.original?.message ?? '');
      return new SlackError(`Slack ${method} request failed: ${timedOut ? 'timed out' : inner}`, {
        code: timedOut ? 'SLACK_TIMEOUT' : 'SLACK_NETWORK',
        retriable: true
      });
    }
    default:
      // Includes the client's "429 without a usable Retry-After": not understood, so assumed
      // transient (the outbox's backoff then paces it).
      return new SlackError(`Slack ${method} failed: ${e.message ?? String(err)}`, { code: 'SLACK_UNKNOWN', retriable: true });
  }
}

/** The WebClient's logger, quieted into ours: its warnings duplicate the errors we throw. */
function slackLogger(logger: Logger): SlackLogger {
  let level = LogLevel.WARN;
  const order = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR];
  const enabled = (l: LogLevel) => order.indexOf(l) >= order.indexOf(level);
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  return {
    debug: (...msg) => enabled(LogLevel.DEBUG) && logger.trace({ source: 'slack-web-api' }, text(msg)),
    info: (...msg) => enabled(LogLevel.INFO) && logger.debug({ source: 'slack-web-api' }, text(msg)),
    warn: (...msg) => enabled(LogLevel.WARN) && logger.debug({ source: 'slack-web-api' }, text(msg)),
    error: (...msg) => enabled(LogLevel.ERROR) && logger.warn({ source: 'slack-web-api' }, text(msg)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

function createWebhookNotifier(webhookUrl: string, limits: Limits): SlackNotifier {
  const post = async (body: string): Promise<void> => {
    for (let attempt = 0; ; attempt += 1) {
      const error = await postOnce(webhookUrl, body, limits.timeoutMs);
      if (!error) return;
      const canRetry = error.retriable && attempt < limits.maxRetries;
      if (canRetry && error.retryAfterMs !== undefined && error.retryAfterMs <= limits.maxRetryAfterMs) {
        await limits.sleep(error.retryAfterMs);
        continue;
      }
      if (canRetry && error.retryAfterMs === undefined) {
        await limits.sleep(exponentialBackoff(attempt + 1, { baseMs: BACKOFF_MIN_MS, capMs: BACKOFF_MAX_MS }));
        continue;
      }
      throw error;
    }
  };
  return {
    mode: 'webhook',
    async postMessage(input) {
      // A webhook's channel is fixed when it is created; `channel` is not sent (Slack ignores it
      // for app webhooks and older ones would post elsewhere), nor `thread_ts` (no ts to thread on).
      await post(JSON.stringify({ text: input.text, ...(input.blocks ? { blocks: input.blocks } : {}), unfurl_links: false, unfurl_media: false }));
      limits.logger.debug({ channel: input.channel }, 'slack webhook message posted');
      return {};
    },
    async updateMessage(input) {
      limits.logger.debug({ channel: input.channel, ts: input.ts }, 'slack webhook cannot update messages; update skipped');
    },
  };
}

/** One POST to the webhook: undefined on success, the classified error otherwise (never the URL). */
async function postOnce(url: string, body: string, timeoutMs: number): Promise<SlackError | undefined> {
  let status: number;
  let text: string;
  let retryAfter: string | string[] | undefined;
  try {
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = response.statusCode;
    retryAfter = response.headers['retry-after'];
    text = (await response.body.text()).trim();
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).name;
    const timedOut = /TIMEOUT|AbortError|TimeoutError/i.test(code);
    return new SlackError(`Slack webhook request failed: ${timedOut ? 'timed out' : code}`, {
      code: timedOut ? 'SLACK_TIMEOUT' : 'SLACK_NETWORK',
      retriable: true
    });
  }
  if (status >= 200 && status < 300) return undefined;
  // Webhooks answer errors as text (`invalid_payload`, `channel_not_found`, `no_service`, …).
  const slackError = /^[a-z_]{1,64}$/.test(text) ? text : undefined;
  if (status === 429) {
    const seconds = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
    const retryAfterMs = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000;
    return new SlackError(`Slack webhook rate limited: retry after ${retryAfterMs} ms`, {
      code: 'SLACK_RATE_LIMITED',
      retriable: true,
      slackError: slackError ?? 'rate_limited',
      status,
      retryAfterMs,
    });
  }
  const retriable = status >= 500 || status === 408;
  return new SlackError(`Slack webhook answered HTTP ${status}${slackError ? `: ${slackError}` : ''}`, {
    code: slackError ? `SLACK_${slackError.toUpperCase()}` : `SLACK_HTTP_${status}`,
    retriable,
    slackError,
    status,
  });
}
