import type { RecordSender } from './producer.js';
import type { EventPublisher } from '../../app/ports.js';

/**
 * Outcome events to Kafka through the instance's idempotent producer (acks=all): `publish`
 * resolves only when the broker acknowledged every record, so the outbox marks entries sent only
 * then. Records of one call go out in one request, in order, per topic.
 */
export function createOutcomePublisher(producer: RecordSender): EventPublisher {
  return {
    async publish(records) {
      const byTopic = new Map<string, Array<{ key: string; value: string; headers: Record<string, string> }>>();
      for (const r of records) {
        const list = byTopic.get(r.topic) ?? [];
        list.push({ key: r.key, value: r.value, headers: r.headers });
        byTopic.set(r.topic, list);
      }
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    },
  };
}
