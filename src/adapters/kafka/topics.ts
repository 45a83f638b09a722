import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * Creates the topics that do not exist yet, with the broker's defaults for partitions and
 * replication. A cluster that forbids topic creation is not fatal: the operator created the
 * topics, or the consumer reports them missing.
 */
export async function ensureTopics(kafka: Kafka, topics: string[], log: Logger): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(topics)].filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    await admin.createTopics({ topics: missing.map((topic) => ({ topic })), waitForLeaders: true });
    log.info({ topics: missing }, 'created missing topics');
  } catch (err) {
    log.warn({ err }, 'could not create missing topics; continuing with what exists');
  } finally {
    await admin.disconnect();
  }
}
