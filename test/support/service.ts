import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { createLogger } from '../../src/adapters/log/logger.js';
import { loadConfig, type AppConfig } from '../../src/config/load.js';
import { createService, type Service } from '../../src/main.js';
import { createTopics } from '../../src/devtools/local-kafka.js';
import { generateAntomKeyPair } from '../../src/adapters/antom/keys.js';
import { startAntomSandbox, type AntomSandbox, type AntomSandboxOptions } from '../../src/simulator/sandbox.js';
import { allTopics } from '../../src/composition/settings.js';
import { testBrokers, uniqueName } from './kafka.js';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** One merchant key pair per test process: RSA generation costs ~100 ms. */
let merchantKeys: ReturnType<typeof generateAntomKeyPair> | undefined;
export function testMerchantKeys() {
  merchantKeys ??= generateAntomKeyPair();
  return merchantKeys;
}

/** Stands for Antom's key where no sandbox answers: never the merchant's own (refused at startup). */
let antomKeys: ReturnType<typeof generateAntomKeyPair> | undefined;
function testAntomKeys() {
  antomKeys ??= generateAntomKeyPair();
  return antomKeys;
}

/**
 * Environment for one isolated service instance: its own topics, group and database. Without a
 * sandbox the credentials are valid but point nowhere, and the first inquiry is an hour away, so
 * ingest-only tests never poll.
 */
export function isolatedEnv(prefix: string, over: Record<string, string> = {}): Record<string, string> {
  const name = uniqueName(prefix);
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return {
    CONFIG_DIR: join(REPO_ROOT, 'config'),
    KAFKA_BROKERS: testBrokers(),
    KAFKA_GROUP_ID: `${name}-group`,
    TOPIC_REFUND_INITIATED: `${name}.initiated`,
    TOPIC_REFUND_COMPLETED: `${name}.completed`,
    TOPIC_REFUND_FAILED: `${name}.failed`,
    TOPIC_REFUND_STALLED: `${name}.stalled`,
    TOPIC_DEAD_LETTER: `${name}.dlq`,
    DATABASE_URL: `sqlite:${join(dir, 'refunds.db')}`,
    SQLITE_SYNCHRONOUS: 'normal',
    // A killed instance's partitions are reassigned after this; the broker allows down to 1 s.
    KAFKA_SESSION_TIMEOUT: '6s',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    ADMIN_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ANTOM_CLIENT_ID: 'SANDBOX_TEST',
    ANTOM_PRIVATE_KEY: testMerchantKeys().privateKey,
    ANTOM_PUBLIC_KEY: testAntomKeys().publicKey,
    ANTOM_BASE_URL: 'http://127.0.0.1:9',
    POLL_FIRST_DELAY: '1h',
    POLL_MAX_INTERVAL: '2h',
    // A failure read from an F result is confirmed by a second inquiry this soon (5 s by default).
    POLL_CONFIRM_FAILURE_AFTER: '200ms',
    ...over,
  };
}

export function configFrom(env: Record<string, string>): AppConfig {
  return loadConfig({ env, cwd: REPO_ROOT });
}

export async function createServiceTopics(config: AppConfig, inputPartitions = 3): Promise<void> {
  const v = config.values;
  await createTopics(
    v.KAFKA_BROKERS.join(','),
    allTopics(v).map((topic) => (topic === v.TOPIC_REFUND_INITIATED ? { topic, numPartitions: inputPartitions } : { topic })),
  );
}

/** A service in this process, logging to nowhere unless TEST_LOG_LEVEL is set. */
export function inProcessService(config: AppConfig): Service {
  const silent = new Writable({ write: (_c, _e, done) => done() });
  const logger = createLogger({ level: config.values.LOG_LEVEL, ...(config.values.LOG_LEVEL === 'silent' ? { destination: silent } : {}) });
  return createService(config, { logger });
}

export async function produce(brokers: string, topic: string, messages: Message[]): Promise<void> {
  const kafka = new Kafka({ clientId: 'test-producer', brokers: brokers.split(','), logLevel: logLevel.ERROR });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    // Chunks keep each request well under the broker's 1 MiB default message.max.bytes.
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({ topic, messages: messages.slice(i, i + 500), acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
}

export function refundRecord(n: number, over: Record<string, unknown> = {}): Message {
  const refundId = `RF-${String(n).padStart(7, '0')}`;
  return {
    key: refundId,
    value: JSON.stringify({
      refundId,
      refundRequestId: `RQ-${n}`,
      paymentId: `PAY-${n}`,
      refundAmount: { currency: 'USD', value: String(100 + (n % 9000)) },
      customer: { email: `customer${n}@example.com`, name: `Customer ${n}`, locale: 'en' },
      metadata: { orderId: `ORD-${n}` },
      ...over,
    }),
  };
}

/** The Antom sandbox trusting this process's merchant key, with service settings pointing at it. */
export async function testSandbox(options: Partial<AntomSandboxOptions> = {}): Promise<AntomSandbox> {
  return startAntomSandbox({ merchantPublicKey: testMerchantKeys().publicKey, notifyRetries: 'none', ...options });
}
