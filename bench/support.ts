/**
 * What the benches that run the service against real parts share: a Kafka broker (the one
 * KAFKA_BROKERS names, or a local one started from the Maven jars), a child's next message, and
 * waiting for a child to exit.
 */
import type { ChildProcess } from 'node:child_process';
import { startLocalKafka } from '../src/devtools/local-kafka.js';

export interface BenchKafka {
  readonly brokers: string;
  /** Stops the broker if this bench started it. */
  stop(): Promise<void>;
}

/** The broker KAFKA_BROKERS names, or a local single-node broker started for this bench. */
export async function benchKafka(): Promise<BenchKafka> {
  const given = process.env.KAFKA_BROKERS;
  if (given) return { brokers: given, stop: async () => {} };
  const local = await startLocalKafka({ log: () => {} });
  return { brokers: local.brokers, stop: () => local.stop() };
}

/**
 * The next message a forked child sends; with `probe`, the next one whose `probe` field is that
 * (the memory probe's replies share the channel with other messages).
 */
export function nextMessage<T>(child: ChildProcess, probe?: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      if (probe !== undefined && (m as { probe?: unknown } | null)?.probe !== probe) return;
      child.off('message', on);
      resolve(m as T);
    };
    child.on('message', on);
  });
}

/** Resolves when the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
