/**
 * The demo's traffic: the refunds the Antom sandbox will answer for, and the sample
 * refund-initiated records (good and bad) produced to Kafka for the service to pick up.
 */
import type { Kafka } from 'kafkajs';
import type { AppConfig } from '../config/load.js';
import type { SampleEvent } from '../demo/sample-events.js';
import type { AntomSandbox } from '../simulator/sandbox.js';
import type { DemoOutput } from './demo-stack.js';

/** Tells the sandbox how each sample refund plays out; those with a pending period also end with a notifyRefund to `notifyUrl`. */
export function seedSandbox(sandbox: AntomSandbox, samples: SampleEvent[], notifyUrl: string): void {
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
        refundAmount: amountOf(s.message.value),
        ...s.scenario,
      })),
  );
}

/** Produces the samples in order, one acknowledged send each, saying what each should come to. */
export async function produceSamples(kafka: Kafka, samples: SampleEvent[], config: AppConfig, out: DemoOutput): Promise<void> {
  const topic = config.values.TOPIC_REFUND_INITIATED;
  out.step(`producing ${samples.length} refund-initiated records to ${topic}`);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (const [i, s] of samples.entries()) {
    await producer.send({ topic, messages: [s.message], acks: -1 });
    out.say(`#${String(i).padStart(2)} ${s.label.padEnd(58)} expect: ${s.expect}`);
  }
  await producer.disconnect();
}

/** The refundAmount a sample record carries (plain JSON or a structured CloudEvent), as the sandbox takes it. */
function amountOf(value: unknown): { currency: string; value: string } | undefined {
  try {
    const doc = JSON.parse(String(value)) as { refundAmount?: { currency: string; value: string | number }; data?: { refundAmount?: { currency: string; value: string | number } } };
    const amount = doc.refundAmount ?? doc.data?.refundAmount;
    return amount ? { currency: amount.currency, value: String(amount.value) } : undefined;
  } catch {
    return undefined;
  }
}
