/**
 * What `refund-notifier demo` shows of the results: the outcome events and dead-lettered records
 * as they arrive, then, once every sample has had its outcome, where each refund stands and the
 * totals.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, Kafka } from 'kafkajs';
import type { AppConfig } from '../config/load.js';
import type { SampleEvent } from '../demo/sample-events.js';
import type { SlackStub } from '../devtools/slack-stub.js';
import type { SmtpCapture } from '../devtools/smtp-capture.js';
import type { Service } from '../main.js';
import type { DemoOutput } from './demo-stack.js';

/** What the watchers have seen so far. */
export interface DemoResults {
  readonly outcomes: Array<{ type: string; refundId: string }>;
  readonly deadLettered: string[];
}

interface OutcomeEvent {
  type: string;
  id: string;
  data: { refundId: string; reasonCode?: string; detectedBy: string; inquiries: number; stage?: number; escalated: boolean };
}

/** Consumes the outcome topics and the dead-letter topic from the start, printing each record. */
export async function watchResults(p: {
  kafka: Kafka;
  consumers: Consumer[];
  runId: string;
  config: AppConfig;
  out: DemoOutput;
}): Promise<DemoResults> {
  const { values } = p.config;
  const results: DemoResults = { outcomes: [], deadLettered: [] };
  const outcomeTopics = [values.TOPIC_REFUND_COMPLETED, values.TOPIC_REFUND_FAILED, values.TOPIC_REFUND_STALLED];
  await watch(p.kafka, p.consumers, p.runId, outcomeTopics, (topic, value) => {
    const e = JSON.parse(value) as OutcomeEvent;
    results.outcomes.push({ type: e.type, refundId: e.data.refundId });
    const reason = e.data.reasonCode ? ` ${e.data.reasonCode}` : '';
    p.out.say(`⇒ ${topic}: ${e.type}${reason} ${e.data.refundId} (id ${e.id}; detected by ${e.data.detectedBy} after ${e.data.inquiries} ${e.data.inquiries === 1 ? "inquiry" : "inquiries"}${e.data.escalated ? '; escalated' : ''})`);
  });
  await watch(p.kafka, p.consumers, `${p.runId}-dlq`, [values.TOPIC_DEAD_LETTER], (_topic, value, headers) => {
    results.deadLettered.push(value);
    p.out.say(`⇒ ${values.TOPIC_DEAD_LETTER}: offset ${headers['x-dlq-source-offset']} refused: ${headers['x-dlq-reason']}`);
  });
  return results;
}

/**
 * Waits until every sample that should end has an outcome event and every bad record is
 * dead-lettered (90 s at most, far more than the compressed schedule takes), then until the
 * notifications those caused have gone out.
 */
export async function waitForResults(samples: SampleEvent[], results: DemoResults, service: Service, config: AppConfig): Promise<void> {
  const want = samples.filter((s) => ['completed', 'failed', 'stalled'].includes(s.expect)).length;
  const wantDead = samples.filter((s) => s.expect === 'dead-letter').length;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && (new Set(results.outcomes.map((o) => o.refundId)).size < want || results.deadLettered.length < wantDead)) {
    await sleep(200);
  }
  // Let the escalation group's window close, so its summary email goes out too.
  await sleep(config.values.NOTIFY_GROUP_WINDOW + 1000);
  await service.scheduler.runNow('flush-groups');
  const drainUntil = Date.now() + 15_000;
  while (Date.now() < drainUntil && (await service.store.countOutbox()).pending > 0) await sleep(200);
}

/** Where every refund stands in the store, and the totals of the run. */
export async function printSummary(p: {
  service: Service;
  results: DemoResults;
  slack: SlackStub;
  smtp: SmtpCapture;
  emailDir: string;
  out: DemoOutput;
}): Promise<void> {
  const { say } = p.out;
  p.out.step('where every refund stands (the store)');
  for (const r of await p.service.store.listRefunds({ limit: 50 })) {
    const amount = r.refundAmount ? `${r.refundAmount.value} ${r.refundAmount.currency}` : '-';
    const reason = r.reasonCode ? ` ${r.reasonCode}` : '';
    say(`${r.id.padEnd(22)} ${r.status.padEnd(9)} ${amount.padEnd(10)} ${String(r.inquiries).padStart(2)} ${r.inquiries === 1 ? "inquiry  " : "inquiries"}${r.detectedBy ? `, by ${r.detectedBy}` : ''}${reason}`);
  }
  const s = p.service.ingest.stats;
  say(`ingest: ${s.records} records, ${s.tracked} tracked, ${s.duplicates} duplicate, ${s.deadLettered} dead-lettered`);
  const updates = p.slack.calls.filter((c) => c.method === 'chat.update').length;
  say(`outcome events: ${p.results.outcomes.length}; Slack messages: ${p.slack.messages().length} (${updates} updates in place); emails: ${p.smtp.count()} in ${p.emailDir}`);
}

async function watch(
  kafka: Kafka,
  consumers: Consumer[],
  group: string,
  topics: string[],
  onMessage: (topic: string, value: string, headers: Record<string, string>) => void,
): Promise<void> {
  const consumer = kafka.consumer({ groupId: `refund-notifier-demo-watch-${group}`, maxWaitTimeInMs: 250 });
  consumers.push(consumer);
  const joined = new Promise<void>((res) => consumer.on(consumer.events.GROUP_JOIN, () => res()));
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(Array.isArray(v) ? v[0] : v);
      onMessage(topic, message.value?.toString() ?? '', headers);
    },
  });
  await joined;
}
