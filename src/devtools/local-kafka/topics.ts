/** Topics on the local broker, created the way a single node can hold them. */
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';

/**
 * Creates topics (replication factor 1, the only one a single node can hold) and waits until every
 * partition has a leader, so the first produce or subscribe does not race topic creation. Topics
 * that already exist are fine.
 */
export async function createTopics(
  brokers: string,
  topics: Array<{ topic: string; numPartitions?: number }>,
): Promise<void> {
  if (topics.length === 0) return;
  // Silent: kafkajs logs an existing topic's TOPIC_ALREADY_EXISTS at ERROR, and real failures are
  // thrown to the caller anyway.
  const admin = new Kafka({ clientId: 'local-kafka-create-topics', brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: topics.map(({ topic, numPartitions }) => ({ topic, numPartitions: numPartitions ?? 1, replicationFactor: 1 })),
      waitForLeaders: true,
    });
    // kafkajs returns false without waiting for leaders when any of the topics already existed
    // (even if others were just created), so confirm leaders ourselves.
    // 30 s: leader election on a single node takes milliseconds; this only bounds a broken broker.
    const names = topics.map(({ topic }) => topic);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const lastError = await admin
        .fetchTopicMetadata({ topics: names })
        .then(({ topics: meta }) => {
          const leaderless = meta.filter((t) => t.partitions.some((p) => p.leader < 0)).map((t) => t.name);
          return leaderless.length === 0 ? undefined : `no leader yet for ${leaderless.join(', ')}`;
        })
        .catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
      if (lastError === undefined) return;
      if (Date.now() > deadline) throw new Error(`topics ${names.join(', ')} not ready after 30 s: ${lastError}`);
      await delay(100);
    }
  } finally {
    await admin.disconnect();
  }
}
