import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { generateAntomKeyPair } from '../adapters/antom/keys.js';
import { createLogger } from '../adapters/log/logger.js';
import { loadConfig } from '../config/load.js';
import { sampleEvents } from '../demo/sample-events.js';
import { createTopics, startLocalKafka, type LocalKafka } from '../devtools/local-kafka.js';
import { startSlackStub, type SlackStub } from '../devtools/slack-stub.js';
import { startSmtpCapture, type SmtpCapture } from '../devtools/smtp-capture.js';
import { createService, type Service } from '../main.js';
import { startAntomSandbox, type AntomSandbox } from '../simulator/sandbox.js';
import { allTopics } from '../composition/settings.js';
import type { CommandIo } from './io.js';

/**
 * `refund-notifier demo` (`npm run demo`): the whole mission on one machine.
 *
 * Starts a local Kafka broker (from the Maven jars; or uses KAFKA_BROKERS), the Antom sandbox
 * (which verifies our signatures and signs its answers like Antom), a local stand-in for the Slack
 * Web API that prints every message, and an SMTP server that saves every email under demo-out/;
 * runs the service against them; produces sample refund-initiated records, good and bad; and
 * shows each refund tracked, polled, finalised (or stalled), published as an outcome event, and
 * told to Slack and to its customer. `--keep` leaves everything running until Ctrl-C.
 */
export async function demoCommand(args: string[], io: CommandIo): Promise<number> {
  const keep = args.includes('--keep');
  const outDir = resolve(io.env.DEMO_DIR ?? 'demo-out');
  // A fresh store and mailbox per run: the demo tells one story.
  for (const name of ['emails', 'refund-notifier.db', 'refund-notifier.db-wal', 'refund-notifier.db-shm', 'service.log']) {
    rmSync(join(outDir, name), { recursive: true, force: true });
  }
  mkdirSync(outDir, { recursive: true });
  const runId = Date.now().toString(36).toUpperCase();
  const step = (text: string) => io.out(`\n== ${text}`);
  const say = (text: string) => io.out(`   ${text}`);

  let local: LocalKafka | undefined;
  let sandbox: AntomSandbox | undefined;
  let slack: SlackStub | undefined;
  let smtp: SmtpCapture | undefined;
  let service: Service | undefined;
  const consumers: Consumer[] = [];
  // The broker JVM runs in its own process group, so Ctrl-C does not reach it: stop it here,
  // whatever step the demo is at, rather than leave a JVM behind.
  const interrupted = () => {
    io.err('\ninterrupted: stopping');
    void (service?.stop() ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => local?.stop())
      .finally(() => process.exit(130));
  };
  if (!keep) {
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
  }

  try {
    let brokers = io.env.KAFKA_BROKERS;
    if (!brokers) {
      step('starting a local Kafka broker (the first run downloads the jars with Maven)');
      local = await startLocalKafka({ log: say });
      brokers = local.brokers;
    } else {
      step(`using the Kafka broker at ${brokers}`);
    }

    step('starting the Antom sandbox, a Slack API stand-in and an SMTP server');
    const merchant = generateAntomKeyPair();
    sandbox = await startAntomSandbox({ merchantPublicKey: merchant.publicKey, notifyRetries: 'antom' });
    say(`Antom sandbox   ${sandbox.url} (verifies request signatures, signs every answer)`);
    slack = await startSlackStub({ token: 'xoxb-demo', print: (text) => io.out(indent(text, '   │ ')) });
    say(`Slack stand-in  ${slack.url} (every message is printed below, prefixed │)`);
    const emailDir = join(outDir, 'emails');
    smtp = await startSmtpCapture({
      saveDir: emailDir,
      onMessage: (mail, files) => say(`✉  email to ${addresses(mail.to)}: "${mail.subject}" → ${files.html ?? files.eml}`),
    });
    say(`SMTP server     ${smtp.url} (emails saved in ${emailDir})`);

    const logFile = join(outDir, 'service.log');
    const config = loadConfig({
      env: {
        ...io.env,
        ...sandbox.serviceEnv('v2'),
        ANTOM_PRIVATE_KEY: merchant.privateKey,
        KAFKA_BROKERS: brokers,
        KAFKA_GROUP_ID: `refund-notifier-demo-${runId}`,
        KAFKA_SESSION_TIMEOUT: '6s',
        DATABASE_URL: `sqlite:${join(outDir, 'refund-notifier.db')}`,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: io.env.HTTP_PORT ?? '0',
        // Compressed for a demo: first inquiry after 1 s, backoff capped at 5 s, stalled after 15 s,
        // a failure result confirmed 1 s after it was first seen.
        POLL_FIRST_DELAY: '1s',
        POLL_MAX_INTERVAL: '5s',
        POLL_CONFIRM_FAILURE_AFTER: '1s',
        POLL_STALLED_AFTER: '15s',
        POLL_GIVE_UP_AFTER: '1h',
        SLACK_BOT_TOKEN: 'xoxb-demo',
        SLACK_API_URL: slack.url,
        SMTP_URL: smtp.url,
        EMAIL_FROM: 'Demo Shop Refunds <refunds@shop.example>',
        ESCALATION_EMAIL_TO: 'finance@shop.example',
        NOTIFY_GROUP_WINDOW: '20s',
        NOTIFY_GROUP_UPDATE_INTERVAL: '2s',
        ADMIN_TOKEN: io.env.ADMIN_TOKEN ?? 'demo',
      },
    });
    const logStream = createWriteStream(logFile, { flags: 'a' });
    service = createService(config, { logger: createLogger({ level: 'debug', destination: logStream }) });
    await createTopics(brokers, allTopics(config.values).map((topic) => ({ topic })));

    step('starting refund-notifier');
    const { httpUrl } = await service.start();
    say(`health ${httpUrl}/healthz · metrics ${httpUrl}/metrics · admin ${httpUrl}/admin/refunds (Bearer ${config.values.ADMIN_TOKEN}) · logs ${logFile}`);

    const kafka = new Kafka({ clientId: 'refund-notifier-demo', brokers: [brokers], logLevel: logLevel.NOTHING });
    const outcomes: Array<{ type: string; refundId: string }> = [];
    const deadLettered: string[] = [];
    await watch(kafka, consumers, runId, [config.values.TOPIC_REFUND_COMPLETED, config.values.TOPIC_REFUND_FAILED, config.values.TOPIC_REFUND_STALLED], (topic, value) => {
      const e = JSON.parse(value) as { type: string; id: string; data: { refundId: string; reasonCode?: string; detectedBy: string; inquiries: number; stage?: number; escalated: boolean } };
      outcomes.push({ type: e.type, refundId: e.data.refundId });
      const reason = e.data.reasonCode ? ` ${e.data.reasonCode}` : '';
      say(`⇒ ${topic}: ${e.type}${reason} ${e.data.refundId} (id ${e.id}; detected by ${e.data.detectedBy} after ${e.data.inquiries} ${e.data.inquiries === 1 ? "inquiry" : "inquiries"}${e.data.escalated ? '; escalated' : ''})`);
    });
    await watch(kafka, consumers, `${runId}-dlq`, [config.values.TOPIC_DEAD_LETTER], (_topic, value, headers) => {
      deadLettered.push(value);
      say(`⇒ ${config.values.TOPIC_DEAD_LETTER}: offset ${headers['x-dlq-source-offset']} refused: ${headers['x-dlq-reason']}`);
    });

    const samples = sampleEvents(runId);
    const notifyUrl = `${httpUrl}${config.values.ANTOM_NOTIFY_PATH}`;
    sandbox.createRefunds(
      samples
        .filter((s) => s.scenario && s.message.key)
        .map((s) => ({
          refundId: String(s.message.key),
          refundRequestId: `REQ-${String(s.message.key)}`,
          paymentId: `PAY-${String(s.message.key)}`,
          notifyUrl,
          notify: s.scenario!.pendingMs !== undefined,
          // Antom refunds what was initiated: a notification for another amount is not believed.
          ...amountOf(s.message.value),
          ...s.scenario,
        })),
    );
    step(`producing ${samples.length} refund-initiated records to ${config.values.TOPIC_REFUND_INITIATED}`);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (const [i, s] of samples.entries()) {
      await producer.send({ topic: config.values.TOPIC_REFUND_INITIATED, messages: [s.message], acks: -1 });
      say(`#${String(i).padStart(2)} ${s.label.padEnd(58)} expect: ${s.expect}`);
    }
    await producer.disconnect();

    step('what happens (outcome events ⇒, Slack │, emails ✉)');
    const want = samples.filter((s) => ['completed', 'failed', 'stalled'].includes(s.expect)).length;
    const wantDead = samples.filter((s) => s.expect === 'dead-letter').length;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && (new Set(outcomes.map((o) => o.refundId)).size < want || deadLettered.length < wantDead)) {
      await sleep(200);
    }
    // Let the escalation group's window close, so its summary email goes out too.
    await sleep(config.values.NOTIFY_GROUP_WINDOW + 1000);
    await service.scheduler.runNow('flush-groups');
    const drainUntil = Date.now() + 15_000;
    while (Date.now() < drainUntil && (await service.store.countOutbox()).pending > 0) await sleep(200);

    step('where every refund stands (the store)');
    for (const r of await service.store.listRefunds({ limit: 50 })) {
      const amount = r.refundAmount ? `${r.refundAmount.value} ${r.refundAmount.currency}` : '-';
      const reason = r.reasonCode ? ` ${r.reasonCode}` : '';
      say(`${r.id.padEnd(22)} ${r.status.padEnd(9)} ${amount.padEnd(10)} ${String(r.inquiries).padStart(2)} ${r.inquiries === 1 ? "inquiry  " : "inquiries"}${r.detectedBy ? `, by ${r.detectedBy}` : ''}${reason}`);
    }
    const s = service.ingest.stats;
    say(`ingest: ${s.records} records, ${s.tracked} tracked, ${s.duplicates} duplicate, ${s.deadLettered} dead-lettered`);
    say(`outcome events: ${outcomes.length}; Slack messages: ${slack.messages().length} (${slack.calls.filter((c) => c.method === 'chat.update').length} updates in place); emails: ${smtp.count()} in ${emailDir}`);

    if (keep) {
      step(`running; try: curl -H 'Authorization: Bearer ${config.values.ADMIN_TOKEN}' ${httpUrl}/admin/summary — Ctrl-C to stop`);
      await new Promise<void>((res) => {
        process.once('SIGINT', () => res());
        process.once('SIGTERM', () => res());
      });
    }
    return 0;
  } finally {
    step('stopping');
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await service?.stop();
    await Promise.all([sandbox?.close(), slack?.close(), smtp?.close()]);
    await local?.stop();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    say('done');
  }
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}

function addresses(to: unknown): string {
  const list = Array.isArray(to) ? to : to ? [to] : [];
  return list.map((a: { text?: string }) => a.text ?? '').join(', ');
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

/** The refundAmount a sample record carries (plain JSON or a structured CloudEvent), as the sandbox takes it. */
function amountOf(value: unknown): { refundAmount?: { currency: string; value: string } } {
  try {
    const doc = JSON.parse(String(value)) as { refundAmount?: { currency: string; value: string | number }; data?: { refundAmount?: { currency: string; value: string | number } } };
    const amount = doc.refundAmount ?? doc.data?.refundAmount;
    return amount ? { refundAmount: { currency: amount.currency, value: String(amount.value) } } : {};
  } catch {
    return {};
  }
}
