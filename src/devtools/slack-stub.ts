/**
 * A local stand-in for the Slack Web API and an incoming webhook, over real HTTP: the tests point
 * @slack/web-api at it (SLACK_API_URL), and the demo prints what would have appeared in Slack.
 *
 * It answers like Slack: `{ ok: true, channel, ts, message }` for chat.postMessage, with `ts`
 * unique and increasing ("1732550000.000100"), `{ ok: false, error }` for Slack-level errors, 429
 * with Retry-After when rate limited. Bodies are accepted form-encoded (what @slack/web-api sends)
 * and as JSON. Every request is recorded in `calls`, failed ones included, so a test can count
 * attempts; `messages()` is the channel state after posts and updates.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

export type SlackStubMethod = 'chat.postMessage' | 'chat.update' | 'webhook';

export interface SlackStubCall {
  readonly method: SlackStubMethod;
  /** The parsed request body (`blocks` decoded from its JSON string when form-encoded). */
  readonly body: any;
  /** Epoch ms when the request arrived. */
  readonly at: number;
  /** The HTTP status answered. */
  readonly status: number;
  /** Whether Slack would have accepted it (HTTP 200 and ok: true). */
  readonly ok: boolean;
  /** Slack's error code when not ok. */
  readonly error?: string;
  readonly authorization?: string;
}

export interface SlackStubMessage {
  /** The channel id (names such as #refunds are given a stable fake id, as Slack does). */
  readonly channel: string;
  readonly ts: string;
  text: string;
  blocks?: unknown[];
  readonly threadTs?: string;
  /** How many chat.update calls rewrote it. */
  updates: number;
  readonly via: 'api' | 'webhook';
}

export type SlackStubFailure =
  | { readonly status: 429; readonly retryAfterSec: number }
  | { readonly status: 500 | 502 | 503 | 504 }
  | { readonly slackError: string }
  /** Answers only after this long (to exercise the client's timeout); then normally. */
  | { readonly hangMs: number };

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

export async function startSlackStub(options: SlackStubOptions = {}): Promise<SlackStub> {
  const calls: SlackStubCall[] = [];
  const messages = new Map<string, SlackStubMessage>();
  const failures: SlackStubFailure[] = [];
  let down = false;
  // ts values look like Slack's: seconds, a dot, six digits; unique and increasing within a run.
  const baseSeconds = Math.floor(Date.now() / 1000);
  let sequence = 0;
  const nextTs = () => {
    sequence += 1;
    const micros = sequence * 100;
    return `${baseSeconds + Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  };
  const print = options.print === true ? (text: string) => process.stdout.write(`${text}\n`) : options.print || undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method: SlackStubMethod | undefined =
      path === WEBHOOK_PATH ? 'webhook' : path === '/api/chat.postMessage' ? 'chat.postMessage' : path === '/api/chat.update' ? 'chat.update' : undefined;
    const raw = await readBody(req);
    const body = parseBody(raw, req.headers['content-type']);
    const authorization = req.headers.authorization;
    const record = (status: number, ok: boolean, error?: string) =>
      calls.push({
        method: method ?? ('unknown' as SlackStubMethod),
        body,
        at: Date.now(),
        status,
        ok,
        ...(error === undefined ? {} : { error }),
        ...(authorization === undefined ? {} : { authorization }),
      });
    const json = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(payload));
    };
    const webhookText = (status: number, text: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
      res.end(text);
    };

    if (!method) {
      record(404, false, 'unknown_method');
      return json(404, { ok: false, error: 'unknown_method' });
    }
    if (down) {
      record(503, false, 'service_unavailable');
      return method === 'webhook' ? webhookText(503, 'service_unavailable') : json(503, { ok: false, error: 'service_unavailable' });
    }
    let failure = failures.shift();
    if (failure && 'hangMs' in failure) {
      await delay(failure.hangMs);
      failure = undefined;
    }
    if (failure) {
      if ('slackError' in failure) {
        record(method === 'webhook' ? 404 : 200, false, failure.slackError);
        return method === 'webhook' ? webhookText(404, failure.slackError) : json(200, { ok: false, error: failure.slackError });
      }
      if (failure.status === 429) {
        record(429, false, 'ratelimited');
        const headers = { 'retry-after': String(failure.retryAfterSec) };
        return method === 'webhook' ? webhookText(429, 'rate_limited', headers) : json(429, { ok: false, error: 'ratelimited' }, headers);
      }
      record(failure.status, false, 'server_error');
      return method === 'webhook' ? webhookText(failure.status, 'server_error') : json(failure.status, { ok: false, error: 'server_error' });
    }

    if (method === 'webhook') {
      if (typeof body.text !== 'string' && !Array.isArray(body.blocks)) {
        record(400, false, 'invalid_payload');
        return webhookText(400, 'invalid_payload');
      }
      const message: SlackStubMessage = {
        channel: 'webhook',
        ts: nextTs(),
        text: String(body.text ?? ''),
        ...(Array.isArray(body.blocks) ? { blocks: body.blocks } : {}),
        updates: 0,
        via: 'webhook',
      };
      messages.set(`${message.channel}:${message.ts}`, message);
      record(200, true);
      print?.(formatForTerminal('post', message));
      return webhookText(200, 'ok');
    }

    if (options.token !== undefined && authorization !== `Bearer ${options.token}` && body.token !== options.token) {
      record(200, false, 'invalid_auth');
      return json(200, { ok: false, error: 'invalid_auth' });
    }
    const channelName = typeof body.channel === 'string' ? body.channel : '';
    if (channelName === '') {
      record(200, false, 'channel_not_found');
      return json(200, { ok: false, error: 'channel_not_found' });
    }
    if (options.channels && !options.channels.includes(channelName) && !options.channels.map(channelId).includes(channelName)) {
      record(200, false, 'channel_not_found');
      return json(200, { ok: false, error: 'channel_not_found' });
    }
    if (typeof body.text !== 'string' && !Array.isArray(body.blocks)) {
      record(200, false, 'no_text');
      return json(200, { ok: false, error: 'no_text' });
    }
    const channel = channelId(channelName);

    if (method === 'chat.postMessage') {
      const threadTs = typeof body.thread_ts === 'string' && body.thread_ts !== '' ? body.thread_ts : undefined;
      if (threadTs !== undefined && !messages.has(`${channel}:${threadTs}`)) {
        record(200, false, 'thread_not_found');
        return json(200, { ok: false, error: 'thread_not_found' });
      }
      const message: SlackStubMessage = {
        channel,
        ts: nextTs(),
        text: String(body.text ?? ''),
        ...(Array.isArray(body.blocks) ? { blocks: body.blocks } : {}),
        ...(threadTs === undefined ? {} : { threadTs }),
        updates: 0,
        via: 'api',
      };
      messages.set(`${channel}:${message.ts}`, message);
      record(200, true);
      print?.(formatForTerminal(threadTs ? 'reply' : 'post', message, channelName));
      return json(200, {
        ok: true,
        channel,
        ts: message.ts,
        message: { type: 'message', text: message.text, ts: message.ts, ...(threadTs ? { thread_ts: threadTs } : {}), ...(message.blocks ? { blocks: message.blocks } : {}) },
      });
    }

    // chat.update
    const ts = typeof body.ts === 'string' ? body.ts : '';
    const existing = messages.get(`${channel}:${ts}`);
    if (!existing) {
      record(200, false, 'message_not_found');
      return json(200, { ok: false, error: 'message_not_found' });
    }
    existing.text = String(body.text ?? existing.text);
    if (Array.isArray(body.blocks)) existing.blocks = body.blocks;
    existing.updates += 1;
    record(200, true);
    print?.(formatForTerminal('update', existing, channelName));
    return json(200, { ok: true, channel, ts, text: existing.text, message: { text: existing.text, ...(existing.blocks ? { blocks: existing.blocks } : {}) } });
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
    calls,
    messages: () => [...messages.values()].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0)),
    failNext(n, failure) {
      for (let i = 0; i < n; i += 1) failures.push(failure);
    },
    setDown(value) {
      down = value;
    },
    reset() {
      calls.length = 0;
      messages.clear();
      failures.length = 0;
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

/** `#refunds` -> a stable fake id such as `C0REFUNDS…`; an id passes through. */
export function channelId(channel: string): string {
  if (/^[CGD][A-Z0-9]{6,}$/.test(channel)) return channel;
  let hash = 0;
  for (const ch of channel) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return `C${hash.toString(36).toUpperCase().padStart(8, '0')}`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(raw: string, contentType: string | undefined): Record<string, any> {
  if (raw === '') return {};
  if (contentType?.includes('json')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, any>) : {};
    } catch {
      return {};
    }
  }
  const out: Record<string, any> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    // @slack/web-api JSON-encodes arrays and objects inside the form (blocks, attachments).
    if ((key === 'blocks' || key === 'attachments' || key === 'metadata') && value.startsWith('[')) {
      try {
        out[key] = JSON.parse(value);
        continue;
      } catch {
        // kept as text
      }
    }
    out[key] = value;
  }
  return out;
}

/** A Slack message as readable terminal text: header, fields, sections, context. */
export function formatForTerminal(kind: 'post' | 'reply' | 'update', message: SlackStubMessage, channelName?: string): string {
  const where = message.via === 'webhook' ? 'webhook' : channelName ?? message.channel;
  const what = kind === 'reply' ? `reply in thread ${message.threadTs}` : kind === 'update' ? `update of ${message.ts} (#${message.updates})` : `post ${message.ts}`;
  const lines = [`── Slack ${where} · ${what} ──`];
  const plain = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  for (const block of (message.blocks ?? []) as Array<Record<string, any>>) {
    if (block.type === 'header') lines.push(plain(String(block.text?.text ?? '')));
    if (block.type === 'section') {
      if (block.text?.text) lines.push(plain(String(block.text.text)));
      if (Array.isArray(block.fields)) {
        for (const field of block.fields) lines.push(`  ${plain(String(field.text ?? '')).replace(/^\*(.+?)\*\n/, '$1: ')}`);
      }
    }
    if (block.type === 'context' && Array.isArray(block.elements)) {
      for (const element of block.elements) lines.push(`  (${plain(String(element.text ?? ''))})`);
    }
  }
  if (!message.blocks || message.blocks.length === 0) lines.push(plain(message.text));
  return lines.join('\n');
}
