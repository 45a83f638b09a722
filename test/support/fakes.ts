/**
 * Fakes for the application layer's ports, so its tests run in milliseconds: a clock that moves
 * only when told, a Slack and a mail server that record what they were sent and fail on cue, an
 * Antom that answers when the test says so, and a migrated in-memory SQLite store. Each fake fails
 * the way the real adapter does: with a RefundNotifierError whose `retriable` (and `inDoubt`)
 * flags are all the app layer reads.
 */
import { Writable } from 'node:stream';
import type { RefundInquirer } from '../../src/app/poll-inquiry.js';
import type { Clock, EmailPort, EventPublisher, RefundStore, SlackPort } from '../../src/app/ports.js';
import type { RateLimiter, Sleep } from '../../src/app/rate-limiter.js';
import { createLogger, type Logger } from '../../src/adapters/log/logger.js';
import { createSqliteStore } from '../../src/adapters/store/sqlite.js';
import { InDoubtError, RefundNotifierError } from '../../src/domain/errors.js';
import type { InquiryOutcome, InquiryQuery } from '../../src/domain/inquiry.js';

/** A logger that writes nothing: failures under test are expected, their log lines are noise. */
export const quietLogger: Logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });

/** A fresh SQLite database in memory, migrated: the real store, without a file. */
export async function createMemoryStore(): Promise<RefundStore> {
  const store = createSqliteStore({ path: ':memory:' });
  await store.migrate();
  return store;
}

// ── Time ────────────────────────────────────────────────────────────────────────────────────────

export interface FakeClock extends Clock {
  /** Moves time forward; every sleep that ends by then resolves. */
  advance(ms: number): void;
  /** Moves time forward to `epochMs` (never back). */
  set(epochMs: number): void;
  /** A Sleep on this clock: resolves when the clock passes its end, or at once when aborted. */
  readonly sleep: Sleep;
}

/** Starts at 2026-12-01T10:00:00Z, a fixed instant, so texts that show times are stable. */
export function createFakeClock(start = Date.parse('2026-12-01T10:00:00Z')): FakeClock {
  let now = start;
  let timers: Array<{ at: number; wake: () => void }> = [];
  const fire = () => {
    const due = timers.filter((t) => t.at <= now);
    timers = timers.filter((t) => t.at > now);
    for (const t of due) t.wake();
  };
  return {
    now: () => now,
    advance(ms) {
      if (ms < 0) throw new Error('a fake clock does not go back');
      now += ms;
      fire();
    },
    set(epochMs) {
      if (epochMs < now) throw new Error(`a fake clock does not go back (${epochMs} < ${now})`);
      now = epochMs;
      fire();
    },
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (signal?.aborted || ms <= 0) return resolve();
        const timer = {
          at: now + ms,
          wake: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const onAbort = () => {
          timers = timers.filter((t) => t !== timer);
          resolve();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        timers.push(timer);
      }),
  };
}

/** A promise and the functions that settle it, for a test that decides when something happens. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

// ── Failing on cue ──────────────────────────────────────────────────────────────────────────────

/** How a fake fails: retriable (5xx, 4xx, timeout), permanent (refused for good), or in doubt (email only). */
export type FailureKind = 'retriable' | 'permanent' | 'in-doubt';

/** A call held in flight: `reached` resolves when it arrives, `release()` lets it go on. */
export interface HeldCall {
  readonly reached: Promise<void>;
  release(): void;
}

/** The failure controls both transports share. */
export interface FaultControls {
  /** The next `n` calls fail this way (then the transport works again). */
  failNext(n: number, kind?: FailureKind): void;
  /** Every call fails this way until up(): an outage. */
  down(kind?: FailureKind): void;
  up(): void;
  /** The next call waits until released (a slow call in flight), then succeeds or fails as set then. */
  holdNext(): HeldCall;
  /** Every call, accepted or failed. */
  readonly attempts: number;
}

function createFaults(makeError: (kind: FailureKind) => Error) {
  const queued: FailureKind[] = [];
  let outage: FailureKind | undefined;
  let hold: (HeldCall & { arrived(): void; gate: Promise<void> }) | undefined;
  let attempts = 0;
  const controls: FaultControls = {
    failNext(n, kind = 'retriable') {
      for (let i = 0; i < n; i++) queued.push(kind);
    },
    down(kind = 'retriable') {
      outage = kind;
    },
    up() {
      outage = undefined;
    },
    holdNext() {
      const reached = deferred();
      const gate = deferred();
      hold = { reached: reached.promise, release: () => gate.resolve(), arrived: () => reached.resolve(), gate: gate.promise };
      return hold;
    },
    get attempts() {
      return attempts;
    },
  };
  /** Called at the start of every call: waits if held, throws if failing. */
  async function enter(): Promise<void> {
    attempts += 1;
    const held = hold;
    hold = undefined;
    if (held) {
      held.arrived();
      await held.gate;
    }
    const kind = queued.shift() ?? outage;
    if (kind) throw makeError(kind);
  }
  return { controls, enter };
}

// ── Slack ───────────────────────────────────────────────────────────────────────────────────────

export interface SlackCall {
  readonly method: 'postMessage' | 'updateMessage';
  /** As the caller named it: `#name` for a post, the channel id for an update or a thread reply. */
  readonly channel: string;
  /** The plain-text fallback (what a notification shows). */
  readonly text: string;
  /** Every text in the message's blocks, one per line: the facts, the lists, the notes. */
  readonly shown: string;
  readonly threadTs?: string;
  /** The message's ts: the one a post created, the one an update rewrote. */
  readonly ts?: string;
  /** Fake-clock time of the call. */
  readonly at: number;
}

export interface RecordingSlack extends SlackPort, FaultControls {
  /** What Slack accepted, in order (failed calls are not here; they count in `attempts`). */
  readonly calls: readonly SlackCall[];
  posts(channel?: string): SlackCall[];
  updates(): SlackCall[];
  /** The id Slack gives a channel name (bot mode returns it with every post). */
  channelId(channel: string): string;
}

/** Slack has no "in doubt": a post either went through or it did not; 'in-doubt' fails as permanent. */
export function slackFailure(kind: FailureKind): RefundNotifierError {
  return kind === 'retriable'
    ? new RefundNotifierError('Slack answered HTTP 503', { code: 'SLACK_HTTP_503', retriable: true })
    : new RefundNotifierError('Slack answered channel_not_found', { code: 'SLACK_CHANNEL_NOT_FOUND', retriable: false });
}

/**
 * A Slack that records. Bot mode answers each post with an increasing `ts` and the channel's id,
 * as Slack does; webhook mode answers `{}` and ignores updates, as the webhook adapter does.
 */
export function createRecordingSlack(options: { mode?: 'bot' | 'webhook'; clock?: Clock } = {}): RecordingSlack {
  const mode = options.mode ?? 'bot';
  const now = () => options.clock?.now() ?? Date.now();
  const calls: SlackCall[] = [];
  const ids = new Map<string, string>();
  const { controls, enter } = createFaults(slackFailure);
  let seq = 0;
  const channelId = (channel: string) => {
    if (!ids.has(channel)) ids.set(channel, `C${String(ids.size + 1).padStart(8, '0')}`);
    return ids.get(channel)!;
  };
  const slack: Omit<RecordingSlack, keyof FaultControls> = {
    mode,
    calls,
    channelId,
    posts: (channel) => calls.filter((c) => c.method === 'postMessage' && (channel === undefined || c.channel === channel)),
    updates: () => calls.filter((c) => c.method === 'updateMessage'),
    async postMessage({ channel, text, blocks, threadTs }) {
      await enter();
      if (mode === 'webhook') {
        calls.push({ method: 'postMessage', channel, text, shown: textOf(blocks), at: now() });
        return {};
      }
      seq += 1;
      const ts = `${Math.floor(now() / 1000)}.${String(seq).padStart(6, '0')}`;
      calls.push({ method: 'postMessage', channel, text, shown: textOf(blocks), ts, at: now(), ...(threadTs === undefined ? {} : { threadTs }) });
      return { ts, channel: channelId(channel) };
    },
    async updateMessage({ channel, ts, text, blocks }) {
      if (mode === 'webhook') return;
      await enter();
      calls.push({ method: 'updateMessage', channel, text, shown: textOf(blocks), ts, at: now() });
    },
  };
  // Copied as descriptors, not spread: `attempts` is a getter and must stay live.
  return Object.defineProperties(slack, Object.getOwnPropertyDescriptors(controls)) as RecordingSlack;
}

/** Every `text` string anywhere in Block Kit blocks, in order, one per line. */
function textOf(blocks: readonly unknown[] | undefined): string {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'text' && typeof value === 'string') out.push(value);
        else walk(value);
      }
    }
  };
  walk(blocks ?? []);
  return out.join('\n');
}

// ── Email ───────────────────────────────────────────────────────────────────────────────────────

export interface SentEmail {
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly messageId?: string;
  /** Only when the send set them (a merchant's brand): absent means EMAIL_FROM and no Reply-To. */
  readonly from?: string;
  readonly replyTo?: string;
  /** Fake-clock time of the send. */
  readonly at: number;
}

export interface RecordingEmail extends EmailPort, FaultControls {
  /** What the mail server accepted, in order. */
  readonly sent: readonly SentEmail[];
}

export function emailFailure(kind: FailureKind): RefundNotifierError {
  switch (kind) {
    case 'retriable':
      return new RefundNotifierError('SMTP 451 4.3.0 try again later', { code: 'SMTP_451', retriable: true });
    case 'permanent':
      return new RefundNotifierError('SMTP 550 5.1.1 no such user', { code: 'SMTP_550', retriable: false });
    case 'in-doubt':
      return new InDoubtError('the connection was lost after the server took the message, before it confirmed it');
  }
}

export function createRecordingEmail(options: { clock?: Clock } = {}): RecordingEmail {
  const now = () => options.clock?.now() ?? Date.now();
  const sent: SentEmail[] = [];
  const { controls, enter } = createFaults(emailFailure);
  const email: Omit<RecordingEmail, keyof FaultControls> = {
    sent,
    async send({ to, subject, text, messageId, from, replyTo }) {
      await enter();
      sent.push({
        to: typeof to === 'string' ? [to] : [...to],
        subject,
        text,
        at: now(),
        ...(messageId === undefined ? {} : { messageId }),
        ...(from === undefined ? {} : { from }),
        ...(replyTo === undefined ? {} : { replyTo }),
      });
      return { messageId: messageId ?? `<${sent.length}@fake>` };
    },
  };
  // Copied as descriptors, not spread: `attempts` is a getter and must stay live.
  return Object.defineProperties(email, Object.getOwnPropertyDescriptors(controls)) as RecordingEmail;
}

// ── Kafka and Antom ─────────────────────────────────────────────────────────────────────────────

export type PublishedRecord = Parameters<EventPublisher['publish']>[0][number];

export function createRecordingPublisher(): EventPublisher & { readonly records: PublishedRecord[] } {
  const records: PublishedRecord[] = [];
  return {
    records,
    async publish(batch) {
      records.push(...batch);
    },
  };
}

/** A rate limiter that always grants (until the loop stops): these tests are not about the rate. */
export function createOpenLimiter(ratePerSecond = 10): RateLimiter {
  return { acquire: async (signal) => !signal?.aborted, slowDown: () => {}, currentRate: () => ratePerSecond };
}

export interface ScriptedInquirer extends RefundInquirer {
  /** The refund ids asked about, in order. */
  readonly asked: readonly string[];
  /** Ends the inquiry in flight about `refundId` with `outcome`. */
  answer(refundId: string, outcome: InquiryOutcome): void;
}

/** Antom as the poll loop sees it, where every inquiry waits until the test answers it. */
export function createScriptedInquirer(): ScriptedInquirer {
  const asked: string[] = [];
  const waiting = new Map<string, (outcome: InquiryOutcome) => void>();
  return {
    asked,
    inquireRefund(query: InquiryQuery) {
      const id = query.refundId ?? query.refundRequestId ?? '?';
      asked.push(id);
      return new Promise<InquiryOutcome>((resolve) => waiting.set(id, resolve));
    },
    answer(refundId, outcome) {
      const resolve = waiting.get(refundId);
      if (!resolve) throw new Error(`no inquiry about ${refundId} is in flight`);
      waiting.delete(refundId);
      resolve(outcome);
    },
  };
}
