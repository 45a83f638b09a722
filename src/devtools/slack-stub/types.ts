/** What the Slack stub records and can be told to do; shared by its parts, exported by ../slack-stub.ts. */

export type SlackStubMethod = 'chat.postMessage' | 'chat.update' | 'webhook';

export interface SlackStubCall {
  readonly method: SlackStubMethod;
  /** The parsed request body (`blocks` decoded from its JSON string when form-encoded). */
  readonly body: any;
  /** Epoch ms when the request was answered (after any hang it was told to do). */
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
