/**
 * A whole service whose customers' refunds complete at the Antom sandbox and are emailed over a
 * real SMTP server (test/support/smtp.ts), with Slack on its stub: what the customer-email
 * integration tests (amounts, locales) share.
 */
import type { ParsedMail } from 'mailparser';
import type { Money } from '../../src/domain/refund.js';
import type { Service } from '../../src/main.js';
import type { AntomSandbox } from '../../src/simulator/sandbox.js';
import { configFrom, createServiceTopics, inProcessService, isolatedEnv, produce, refundRecord, testSandbox } from './service.js';
import { startSlackStub, type SlackStub } from './slack-stub.js';
import { startSmtpCapture, type SmtpCapture } from './smtp.js';

export interface EmailedCustomer {
  /** The refund id (its request id is `RQ-<id>`, its payment `P-<id>`). */
  readonly id: string;
  readonly amount: Money;
  readonly email: string;
  readonly name: string;
  readonly locale: string;
  readonly metadata?: Record<string, unknown>;
}

export interface EmailingService {
  readonly sandbox: AntomSandbox;
  readonly slack: SlackStub;
  readonly smtp: SmtpCapture;
  readonly service: Service;
  readonly adminUrl: string;
  /** The messages the SMTP server received for this address. */
  to(address: string): ParsedMail[];
  close(): Promise<void>;
}

/** The addresses a received message was sent to. */
export function recipients(m: ParsedMail): string[] {
  return (Array.isArray(m.to) ? m.to : m.to ? [m.to] : []).flatMap((a) => a.value.map((v) => v.address ?? ''));
}

/**
 * Starts the service with `env` added (Slack token `slackToken`), has Antom confirm each
 * customer's refund at once, and produces their refund-initiated records.
 */
export async function serviceEmailing(
  name: string,
  customers: readonly EmailedCustomer[],
  options: { slackToken: string; env?: Record<string, string> },
): Promise<EmailingService> {
  const sandbox = await testSandbox();
  const slack = await startSlackStub({ token: options.slackToken });
  const smtp = await startSmtpCapture();
  const env = isolatedEnv(name, {
    ...sandbox.serviceEnv('v2'),
    POLL_FIRST_DELAY: '100ms',
    POLL_MAX_INTERVAL: '1s',
    SLACK_BOT_TOKEN: options.slackToken,
    SLACK_API_URL: slack.url,
    SMTP_URL: smtp.url,
    EMAIL_FROM: 'Acme Refunds <refunds@acme.example>',
    ...options.env,
  });
  const config = configFrom(env);
  await createServiceTopics(config, 1);
  // Antom confirms the same amount the refund was initiated with.
  sandbox.createRefunds(customers.map((c) => ({ refundId: c.id, refundRequestId: `RQ-${c.id}`, paymentId: `P-${c.id}`, notify: false, refundAmount: c.amount })));
  const service = inProcessService(config);
  const { adminUrl } = await service.start();
  await produce(
    env.KAFKA_BROKERS!,
    config.values.TOPIC_REFUND_INITIATED,
    customers.map((c, i) =>
      refundRecord(i, {
        refundId: c.id,
        refundRequestId: `RQ-${c.id}`,
        paymentId: `P-${c.id}`,
        refundAmount: c.amount,
        customer: { email: c.email, name: c.name, locale: c.locale },
        ...(c.metadata ? { metadata: c.metadata } : {}),
      }),
    ),
  );
  return {
    sandbox,
    slack,
    smtp,
    service,
    adminUrl,
    to: (address) => smtp.messages.filter((m) => recipients(m).includes(address)),
    async close() {
      await service.stop();
      await Promise.all([sandbox.close(), slack.close(), smtp.close()]);
    },
  };
}
