/**
 * A local stand-in for the Slack Web API and an incoming webhook, over real HTTP: the tests point
 * @slack/web-api at it (SLACK_API_URL), and the demo prints what would have appeared in Slack.
 *
 * It answers like Slack: `{ ok: true, channel, ts, message }` for chat.postMessage, with `ts`
 * unique and increasing ("1732550000.000100"), `{ ok: false, error }` for Slack-level errors, 429
 * with Retry-After when rate limited. Bodies are accepted form-encoded (what @slack/web-api sends)
 * and as JSON. Every request is recorded in `calls`, failed ones included, so a test can count
 * attempts; `messages()` is the channel state after posts and updates.
 *
 * This file routes requests and is what callers import; each method's answer is in
 * slack-stub/methods.ts, what the stub remembers in slack-stub/state.ts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { parseBody, readBody, send, type StubAnswer } from './slack-stub/http.js';
import { answerPostMessage, answerUpdate, answerWebhook, failureAnswer, refusal, type StubContext, type StubRequest } from './slack-stub/methods.js';
import { createStubState, messagesInOrder } from './slack-stub/state.js';
import type { SlackStubCall, SlackStubFailure, SlackStubMessage, SlackStubMethod } from './slack-stub/types.js';

export { channelId, formatForTerminal } from './slack-stub/format.js';
export type { SlackStubCall, SlackStubFailure, SlackStubMessage, SlackStubMethod } from './slack-stub/types.js';

export interface SlackStubOptions {
  /** Port to listen on; 0 (default) for any free port. */
  readonly port?: number;
  /** When set, API calls without `Authorization: Bearer <token>` get `invalid_auth`. */
  readonly token?: string;
  /** When set, posts to channels outside this list get `channel_not_found`. */
  readonly channels?: readonly string[];
  /** Print each accepted message as readable text: true for stdout, or a function per message. */
  readonly print?: boolean | ((text: string) => void);
}

export interface SlackStub {
  /** The slackApiUrl for @slack/web-api, ending in `/api/`. */
  readonly url: string;
  /** An incoming-webhook URL served by the same stub. */
  readonly webhookUrl: string;
  readonly calls: SlackStubCall[];
  /** Messages as they stand now, oldest first (thread replies included, with threadTs). */
  messages(): SlackStubMessage[];
  /** The next `n` requests (any method) fail this way. */
  failNext(n: number, failure: SlackStubFailure): void;
  /** While down, every request gets 503. */
  setDown(down: boolean): void;
  /** Forget recorded calls and messages. */
  reset(): void;
  close(): Promise<void>;
}

const WEBHOOK_PATH = '/services/T00000000/B00000000/stubwebhooksecret';

const METHODS = new Map<string, SlackStubMethod>([
  [WEBHOOK_PATH, 'webhook'],
  ['/api/chat.postMessage', 'chat.postMessage'],
  ['/api/chat.update', 'chat.update'],
]);

const HANDLERS: Record<SlackStubMethod, (request: StubRequest, ctx: StubContext) => StubAnswer> = {
  'chat.postMessage': answerPostMessage,
  'chat.update': answerUpdate,
  webhook: answerWebhook,
};

export async function startSlackStub(options: SlackStubOptions = {}): Promise<SlackStub> {
  const state = createStubState();
  const ctx: StubContext = {
    state,
    token: options.token,
    channels: options.channels,
    print: options.print === true ? (text: string) => process.stdout.write(`${text}\n`) : options.print || undefined,
  };

  const answer = async (method: SlackStubMethod | undefined, request: StubRequest): Promise<StubAnswer> => {
    if (!method) return refusal(method, 404, 'unknown_method');
    if (state.down) return refusal(method, 503, 'service_unavailable');
    let failure = state.failures.shift();
    if (failure && 'hangMs' in failure) {
      await delay(failure.hangMs);
      failure = undefined;
    }
    if (failure) return failureAnswer(method, failure);
    return HANDLERS[method](request, ctx);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = METHODS.get((req.url ?? '/').split('?')[0] ?? '/');
    const body = parseBody(await readBody(req), req.headers['content-type']);
    const authorization = req.headers.authorization;
    const reply = await answer(method, { body, authorization });
    state.calls.push({
      method: method ?? ('unknown' as SlackStubMethod),
      body,
      at: Date.now(),
      status: reply.status,
      ok: reply.error === undefined,
      error: reply.error,
      authorization,
    });
    send(res, reply);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  let closing: Promise<void> | undefined;

  return {
    url: `${base}/api/`,
    webhookUrl: `${base}${WEBHOOK_PATH}`,
    calls: state.calls,
    messages: () => messagesInOrder(state),
    failNext(n, failure) {
      for (let i = 0; i < n; i += 1) state.failures.push(failure);
    },
    setDown(value) {
      state.down = value;
    },
    reset() {
      state.calls.length = 0;
      state.messages.clear();
      state.failures.length = 0;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
