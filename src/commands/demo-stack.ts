/**
 * What `refund-notifier demo` runs against, and the service configured for it: a Kafka broker
 * (local, or KAFKA_BROKERS), the Antom sandbox, a Slack Web API stand-in that prints every
 * message, an SMTP server that saves every email, and refund-notifier itself with its timings
 * compressed so the whole story plays in a minute.
 */
import { copyFileSync, createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generateAntomKeyPair } from '../adapters/antom/keys.js';
import { createLogger } from '../adapters/log/logger.js';
import { allTopics } from '../composition/settings.js';
import { loadConfig, type AppConfig } from '../config/load.js';
import { MERCHANTS_FILE_NAME } from '../config/merchants.js';
import { SHIPPED_ROUTING_FILE } from '../config/routing.js';
import { DEMO_MERCHANTS_YAML } from '../demo/merchants.js';
import { createTopics, startLocalKafka, type LocalKafka } from '../devtools/local-kafka.js';
import { startSlackStub, type SlackStub } from '../devtools/slack-stub.js';
import { startSmtpCapture, type SmtpCapture } from '../devtools/smtp-capture.js';
import { createService, type Service } from '../main.js';
import { startAntomSandbox, type AntomSandbox } from '../simulator/sandbox.js';
import type { CommandIo } from './io.js';

/** What the demo has started so far: filled in stage by stage, so teardown stops exactly that. */
export interface DemoStack {
  local?: LocalKafka;
  sandbox?: AntomSandbox;
  slack?: SlackStub;
  smtp?: SmtpCapture;
  service?: Service;
}

/** The demo's way of talking: a heading per stage, indented lines under it. */
export interface DemoOutput {
  step(text: string): void;
  say(text: string): void;
}

/** The Kafka bootstrap address: KAFKA_BROKERS if set, else a local broker started here. */
export async function startBroker(io: CommandIo, stack: DemoStack, out: DemoOutput): Promise<string> {
  const brokers = io.env.KAFKA_BROKERS;
  if (brokers) {
    out.step(`using the Kafka broker at ${brokers}`);
    return brokers;
  }
  out.step('starting a local Kafka broker (the first run downloads the jars with Maven)');
  stack.local = await startLocalKafka({ log: out.say });
  return stack.local.brokers;
}

/** The stand-ins the service talks to; returns the merchant key the sandbox verifies against. */
export async function startStandIns(
  io: CommandIo,
  stack: DemoStack,
  out: DemoOutput,
  emailDir: string,
): Promise<{ merchantPrivateKey: string; sandbox: AntomSandbox; slack: SlackStub; smtp: SmtpCapture }> {
  out.step('starting the Antom sandbox, a Slack API stand-in and an SMTP server');
  const merchant = generateAntomKeyPair();
  const sandbox = await startAntomSandbox({ merchantPublicKey: merchant.publicKey, notifyRetries: 'antom' });
  stack.sandbox = sandbox;
  out.say(`Antom sandbox   ${sandbox.url} (verifies request signatures, signs every answer)`);
  const slack = await startSlackStub({ token: 'xoxb-demo', print: (text) => io.out(indent(text, '   │ ')) });
  stack.slack = slack;
  out.say(`Slack stand-in  ${slack.url} (every message is printed below, prefixed │)`);
  const smtp = await startSmtpCapture({
    saveDir: emailDir,
    onMessage: (mail, files) => out.say(`✉  email from ${addresses(mail.from)} to ${addresses(mail.to)}: "${mail.subject}" → ${files.html ?? files.eml}`),
  });
  stack.smtp = smtp;
  out.say(`SMTP server     ${smtp.url} (emails saved in ${emailDir})`);
  return { merchantPrivateKey: merchant.privateKey, sandbox, slack, smtp };
}

/** refund-notifier against the stand-ins, logging to `logFile`; its topics created, not yet started. */
export async function createDemoService(p: {
  io: CommandIo;
  stack: DemoStack;
  brokers: string;
  runId: string;
  outDir: string;
  logFile: string;
  merchantPrivateKey: string;
  sandbox: AntomSandbox;
  slack: SlackStub;
  smtp: SmtpCapture;
}): Promise<{ service: Service; config: AppConfig }> {
  const { io } = p;
  const config = loadConfig({
    env: {
      ...io.env,
      CONFIG_DIR: io.env.CONFIG_DIR ?? demoConfigDir(p.outDir),
      ...p.sandbox.serviceEnv('v2'),
      ANTOM_PRIVATE_KEY: p.merchantPrivateKey,
      KAFKA_BROKERS: p.brokers,
      KAFKA_GROUP_ID: `refund-notifier-demo-${p.runId}`,
      KAFKA_SESSION_TIMEOUT: '6s',
      DATABASE_URL: `sqlite:${join(p.outDir, 'refund-notifier.db')}`,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: io.env.HTTP_PORT ?? '0',
      ADMIN_PORT: io.env.ADMIN_PORT ?? '0',
      // Compressed for a demo: first inquiry after 1 s, backoff capped at 5 s, stalled after 15 s,
      // a failure result confirmed 1 s after it was first seen.
      POLL_FIRST_DELAY: '1s',
      POLL_MAX_INTERVAL: '5s',
      POLL_CONFIRM_FAILURE_AFTER: '1s',
      POLL_STALLED_AFTER: '15s',
      POLL_GIVE_UP_AFTER: '1h',
      SLACK_BOT_TOKEN: 'xoxb-demo',
      SLACK_API_URL: p.slack.url,
      SMTP_URL: p.smtp.url,
      EMAIL_FROM: 'Demo Shop Refunds <refunds@shop.example>',
      ESCALATION_EMAIL_TO: 'finance@shop.example',
      NOTIFY_GROUP_WINDOW: '20s',
      NOTIFY_GROUP_UPDATE_INTERVAL: '2s',
      ADMIN_TOKEN: io.env.ADMIN_TOKEN ?? 'demo',
    },
  });
  const logStream = createWriteStream(p.logFile, { flags: 'a' });
  const service = createService(config, { logger: createLogger({ level: 'debug', destination: logStream }) });
  p.stack.service = service;
  await createTopics(p.brokers, allTopics(config.values).map((topic) => ({ topic })));
  return { service, config };
}

/**
 * The demo's CONFIG_DIR: the shipped default.yaml beside the demo's merchants.yaml, so the sample
 * merchant's emails are branded without a merchants.yaml in the shipped config/. Routing, result
 * codes and templates are not copied: the service falls back to the shipped ones.
 */
function demoConfigDir(outDir: string): string {
  const dir = join(outDir, 'config');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(dirname(SHIPPED_ROUTING_FILE), 'default.yaml'), join(dir, 'default.yaml'));
  writeFileSync(join(dir, MERCHANTS_FILE_NAME), DEMO_MERCHANTS_YAML);
  return dir;
}

/** Stops whatever the demo started, the service before what it talks to, the broker last. */
export async function stopStack(stack: DemoStack): Promise<void> {
  await stack.service?.stop();
  await Promise.all([stack.sandbox?.close(), stack.slack?.close(), stack.smtp?.close()]);
  await stack.local?.stop();
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
