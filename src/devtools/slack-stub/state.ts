/** What the Slack stub remembers between requests, and the ts it gives new messages. */
import type { SlackStubCall, SlackStubFailure, SlackStubMessage } from './types.js';

/** What the Slack stub remembers between requests: the calls, the channels' messages, what to fail. */
export interface StubState {
  /** Every request, failed ones included, so a test can count attempts. */
  readonly calls: SlackStubCall[];
  /** Messages by messageKey(channel, ts), thread replies included. */
  readonly messages: Map<string, SlackStubMessage>;
  /** How the next requests fail, one entry per request. */
  readonly failures: SlackStubFailure[];
  /** While set, every request gets 503. */
  down: boolean;
  /** A new message ts. */
  nextTs(): string;
}

export function createStubState(): StubState {
  // ts values look like Slack's: seconds, a dot, six digits; unique and increasing within a run.
  const baseSeconds = Math.floor(Date.now() / 1000);
  let sequence = 0;
  return {
    calls: [],
    messages: new Map(),
    failures: [],
    down: false,
    nextTs() {
      sequence += 1;
      const micros = sequence * 100;
      return `${baseSeconds + Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
    },
  };
}

/** A message is identified by its channel and ts, as in Slack. */
export function messageKey(channel: string, ts: string): string {
  return `${channel}:${ts}`;
}

/** Messages as they stand now, oldest first. */
export function messagesInOrder(state: StubState): SlackStubMessage[] {
  return [...state.messages.values()].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
}
