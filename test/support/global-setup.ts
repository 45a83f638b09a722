/**
 * vitest globalSetup: one Kafka broker for the whole run, shared by every suite (each suite uses
 * its own topics and groups). Set KAFKA_BROKERS to use a broker you already run instead.
 */
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { createTopics, startLocalKafka, type LocalKafka } from '../../src/devtools/local-kafka.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
  }
}

let broker: LocalKafka | undefined;
let setEnv = false;

export async function setup(project: TestProject): Promise<void> {
  let brokers = process.env.KAFKA_BROKERS;
  const started = Date.now();
  if (!brokers) {
    broker = await startLocalKafka({ log: (msg) => console.log(`[local-kafka] ${msg}`) });
    brokers = broker.brokers;
    // Child processes the tests spawn (the CLI, the demo) read the broker from the environment;
    // workers forked after this point inherit it too.
    process.env.KAFKA_BROKERS = brokers;
    setEnv = true;
  }
  try {
    // On an external broker too: a freshly started CI broker has the same cold coordinators.
    await warmUpCoordinators(brokers);
  } catch (err) {
    // Whether vitest runs teardown after a failed setup is not something to rely on; teardown()
    // is idempotent, so stopping here never double-stops.
    await teardown();
    throw err;
  }
  console.log(`[local-kafka] broker ${brokers} ready for tests in ${Date.now() - started} ms`);
  project.provide('kafkaBrokers', brokers);
}

export async function teardown(): Promise<void> {
  if (setEnv) {
    delete process.env.KAFKA_BROKERS;
    setEnv = false;
  }
  const stopping = broker;
  broker = undefined;
  if (stopping) {
    const started = Date.now();
    await stopping.stop();
    console.log(`[local-kafka] broker stopped in ${Date.now() - started} ms`);
  }
}

/**
 * The first group operation on a fresh broker creates __consumer_offsets and elects its leader, and
 * kafkajs meets "group coordinator not available" until then; the first idempotent producer likewise
 * meets "coordinator is loading" while the broker fetches a block of producer ids from the
 * controller. kafkajs retries both, but logs each at ERROR and adds a few hundred ms. Paying that once
 * here keeps the first test's logs and timing like every other test's.
 */
async function warmUpCoordinators(brokers: string): Promise<void> {
  const topic = 'local-kafka-warm-up';
  await createTopics(brokers, [{ topic }]);
  const kafka = new Kafka({ clientId: 'local-kafka-warm-up', brokers: [brokers], logLevel: logLevel.NOTHING });

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  try {
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ value: 'warm-up' }] });
  } finally {
    await producer.disconnect();
  }

  const consumer = kafka.consumer({
    // Unique per run: two runs sharing an external broker would otherwise rebalance each other.
    // The group never commits, so the broker forgets it as soon as it is empty.
    groupId: `local-kafka-warm-up-${randomBytes(4).toString('hex')}`,
    // disconnect() waits for the in-flight fetch, which on a quiet topic lasts maxWaitTimeInMs
    // (kafkajs default 5 s); 100 ms makes leaving the group immediate.
    maxWaitTimeInMs: 100,
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic });
    const joined = new Promise<void>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, () => resolve());
    });
    await consumer.run({ eachMessage: async () => {} });
    // 30 s bounds a broken broker; a healthy one joins in well under a second.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('warm-up consumer did not join its group within 30 s')), 30_000);
    });
    await Promise.race([joined, timeout]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
}
