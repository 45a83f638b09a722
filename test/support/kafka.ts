/**
 * Helpers for tests that talk to the shared broker started by test/support/global-setup.ts.
 * Tests wait for conditions (`until`), never for fixed amounts of time.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import { inject } from 'vitest';

export { until, type UntilOptions } from './until.js';

/** The broker of this test run: provided by globalSetup, or KAFKA_BROKERS as a fallback. */
export function testBrokers(): string {
  const brokers = inject('kafkaBrokers') ?? process.env.KAFKA_BROKERS;
  if (!brokers) {
    throw new Error('no Kafka broker: run through vitest (test/support/global-setup.ts) or set KAFKA_BROKERS');
  }
  return brokers;
}

/**
 * A name no other test (or earlier run against the same external broker) uses: suites share one
 * broker, so topics and groups must never collide. Only characters legal in topic names survive.
 */
export function uniqueName(prefix: string): string {
  const safe = prefix.replace(/[^a-zA-Z0-9._-]/g, '-');
  return `${safe}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export interface CollectedMessage {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  /** utf8-decoded; null for a null key. */
  key: string | null;
  /** utf8-decoded; null for a tombstone. */
  value: string | null;
  /** utf8-decoded; a header repeated in one record keeps its last value. */
  headers: Record<string, string>;
}

export interface CollectMessagesOptions {
  /** Default true: messages produced before the consumer joined are collected too. */
  fromBeginning?: boolean;
  /** Default: a fresh unique group, so nothing is already committed. */
  groupId?: string;
  /** Bound on joining the group. Default 30 s: a healthy broker joins in well under a second. */
  joinTimeoutMs?: number;
}

export interface MessageCollector {
  /** Grows as messages arrive; poll it with `until`. */
  messages: CollectedMessage[];
  /** Disconnects the consumer (leaving the group). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a consumer on `topic` and resolves once it has joined its group (kafkajs' run() resolves
 * before that, and messages produced in between could otherwise be missed without fromBeginning).
 */
export async function collectMessages(
  brokers: string,
  topic: string,
  opts: CollectMessagesOptions = {},
): Promise<MessageCollector> {
  const kafka = new Kafka({ clientId: 'test-collector', brokers: [brokers], logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({
    groupId: opts.groupId ?? uniqueName('test-collector'),
    // The broker allows sessions down to 1 s (group.min.session.timeout.ms); 6 s keeps a rebalance
    // short if a test forgets stop(), with plenty of margin for a busy 2-core box.
    sessionTimeout: 6_000,
    heartbeatInterval: 1_000,
    // stop() waits for the in-flight fetch, which on a quiet topic lasts maxWaitTimeInMs (kafkajs
    // default 5 s, added to every test). 250 ms costs an idle collector four small fetches a second.
    maxWaitTimeInMs: 250,
  });
  const messages: CollectedMessage[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= consumer.disconnect();
    return stopping;
  };

  const joinTimeoutMs = opts.joinTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: opts.fromBeginning ?? true });
    const joined = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, () => resolve());
      consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
      timer = setTimeout(
        () => reject(new Error(`collector on ${topic} did not join its group within ${joinTimeoutMs} ms`)),
        joinTimeoutMs,
      );
    });
    await consumer.run({
      eachMessage: async ({ topic: from, partition, message }) => {
        messages.push({
          topic: from,
          partition,
          offset: message.offset,
          timestamp: message.timestamp,
          key: message.key === null ? null : message.key.toString('utf8'),
          value: message.value === null ? null : message.value.toString('utf8'),
          headers: decodeHeaders(message.headers),
        });
      },
    });
    await joined;
  } catch (err) {
    await stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return { messages, stop };
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (last !== undefined) decoded[name] = last.toString();
  }
  return decoded;
}
