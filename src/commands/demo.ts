import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { sampleEvents } from '../demo/sample-events.js';
import { printSummary, waitForResults, watchResults } from './demo-results.js';
import { produceSamples, seedSandbox } from './demo-seed.js';
import { createDemoService, startBroker, startStandIns, stopStack, type DemoOutput, type DemoStack } from './demo-stack.js';
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
 *
 * The stages live beside this file: demo-stack.ts (what the demo runs against, and the service),
 * demo-seed.ts (the sample traffic), demo-results.ts (what came of it).
 */
export async function demoCommand(args: string[], io: CommandIo): Promise<number> {
  const keep = args.includes('--keep');
  const outDir = freshOutDir(io);
  const emailDir = join(outDir, 'emails');
  const logFile = join(outDir, 'service.log');
  const runId = Date.now().toString(36).toUpperCase();
  const out: DemoOutput = { step: (text) => io.out(`\n== ${text}`), say: (text) => io.out(`   ${text}`) };
  const stack: DemoStack = {};
  const consumers: Consumer[] = [];
  // The broker JVM runs in its own process group, so Ctrl-C does not reach it: stop it here,
  // whatever step the demo is at, rather than leave a JVM behind.
  const interrupted = () => {
    io.err('\ninterrupted: stopping');
    void (stack.service?.stop() ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => stack.local?.stop())
      .finally(() => process.exit(130));
  };
  if (!keep) {
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
  }

  try {
    const brokers = await startBroker(io, stack, out);
    const standIns = await startStandIns(io, stack, out, emailDir);
    const { service, config } = await createDemoService({ io, stack, brokers, runId, outDir, logFile, ...standIns });

    out.step('starting refund-notifier');
    const { httpUrl, adminUrl } = await service.start();
    out.say(`notify ${httpUrl}${config.values.ANTOM_NOTIFY_PATH} · health ${adminUrl}/healthz · metrics ${adminUrl}/metrics · admin ${adminUrl}/admin/refunds (Bearer ${config.values.ADMIN_TOKEN}) · logs ${logFile}`);

    const kafka = new Kafka({ clientId: 'refund-notifier-demo', brokers: [brokers], logLevel: logLevel.NOTHING });
    const results = await watchResults({ kafka, consumers, runId, config, out });
    const samples = sampleEvents(runId);
    seedSandbox(standIns.sandbox, samples, `${httpUrl}${config.values.ANTOM_NOTIFY_PATH}`);
    await produceSamples(kafka, samples, config, out);

    out.step('what happens (outcome events ⇒, Slack │, emails ✉)');
    await waitForResults(samples, results, service, config);
    await printSummary({ service, results, slack: standIns.slack, smtp: standIns.smtp, emailDir, out });

    if (keep) {
      out.step(`running; try: curl -H 'Authorization: Bearer ${config.values.ADMIN_TOKEN}' ${adminUrl}/admin/summary — Ctrl-C to stop`);
      await untilSignal();
    }
    return 0;
  } finally {
    out.step('stopping');
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await stopStack(stack);
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    out.say('done');
  }
}

/** DEMO_DIR (default demo-out/), emptied of the last run's store, mailbox and log: the demo tells one story. */
function freshOutDir(io: CommandIo): string {
  const outDir = resolve(io.env.DEMO_DIR ?? 'demo-out');
  for (const name of ['emails', 'config', 'refund-notifier.db', 'refund-notifier.db-wal', 'refund-notifier.db-shm', 'service.log']) {
    rmSync(join(outDir, name), { recursive: true, force: true });
  }
  mkdirSync(outDir, { recursive: true });
  return outDir;
}

function untilSignal(): Promise<void> {
  return new Promise<void>((res) => {
    process.once('SIGINT', () => res());
    process.once('SIGTERM', () => res());
  });
}
