/**
 * The local broker's kill() and restart(), the base of every fault test that crashes Kafka under a
 * running service: a SIGKILL mid-stream loses nothing the broker acknowledged, and kafkajs clients
 * find the broker again on the same address. Uses a broker of its own (startLocalKafka), never the
 * shared one the other suites run against.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';
import { createTopics, startLocalKafka, type LocalKafka } from '../../src/devtools/local-kafka.js';
import { collectMessages, uniqueName, until, type MessageCollector } from '../support/kafka.js';

// After kill() the restarted controller keeps the dead broker's registration for this long before
// the new JVM may register; Kafka's 9 s default would add 9 s to every restart. This broker serves
// this file alone, so a fence after a 3 s stall of a loaded box would only slow it down.
const BROKER_SESSION_TIMEOUT_MS = 3_000;
// The producer retries the refused connection every 100 ms to 1 s; 3 s covers several attempts,
// enough to tell "stuck or failed" from "went through", and costs little of the budget.
const DOWN_DEADLINE_MS = 3_000;
// Several acknowledged batches on every partition before the kill.
const RECORDS_BEFORE_KILL = 1_000;
const BATCH = 50;
// Bounds the waits after the restart: kafkajs' consumer backs off up to a few seconds after the
// errors it met while the broker was down; a healthy recovery takes well under this.
const RECOVERY_TIMEOUT_MS = 20_000;

/** A send's fate, readable at any moment. */
interface Tracked {
  state: 'pending' | 'acked' | 'failed';
  error?: unknown;
}

function track(sending: Promise<void>): Tracked {
  const tracked: Tracked = { state: 'pending' };
  sending.then(
    () => (tracked.state = 'acked'),
    (error: unknown) => {
      tracked.state = 'failed';
      tracked.error = error;
    },
  );
  return tracked;
}

describe('local Kafka broker: kill() and restart()', () => {
  let broker: LocalKafka | undefined;
  let producer: Producer | undefined;
  let squatter: Server | undefined;
  const collectors: MessageCollector[] = [];
  const brokerLog: string[] = [];
  afterAll(async () => {
    await new Promise<void>((done) => (squatter ? squatter.close(() => done()) : done()));
    await Promise.all(collectors.map((c) => c.stop().catch(() => {})));
    await producer?.disconnect().catch(() => {});
    // Also proves stop() after kill() and a failed restart(): the last test leaves the broker so.
    await broker?.stop();
  });

  it('keeps every acknowledged record through a SIGKILL, and the producer and a consumer group recover', async () => {
    broker = await startLocalKafka({ brokerSessionTimeoutMs: BROKER_SESSION_TIMEOUT_MS, log: (msg) => brokerLog.push(msg) });
    const { brokers } = broker;
    const topic = uniqueName('local-kafka-restart');
    await createTopics(brokers, [{ topic, numPartitions: 3 }]);

    const kafka = new Kafka({
      clientId: 'local-kafka-restart',
      brokers: [brokers],
      // Connection errors while the broker is down are the point of the test, not news.
      logLevel: logLevel.NOTHING,
      // Never give up, also not on reconnecting (kafkajs uses the client's retry for that): when an
      // idempotent send fails, kafkajs hands its sequence numbers to the next batch, and if the
      // broker had written the failed batch just before the kill, it drops that next batch as a
      // duplicate or rejects it as out of order. Retried within one send, the batch keeps its
      // numbers and the restarted broker de-duplicates it. The short backoff finds the broker
      // within a second of its return.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const acked: string[] = [];
    const send = (values: string[]): Promise<void> =>
      producer!.send({ topic, acks: -1, messages: values.map((value) => ({ key: value, value })) }).then(() => {
        acked.push(...values);
      });

    // A consumer group that lives through the crash. On a fresh broker the first join meets "the
    // coordinator is loading" while __consumer_offsets is created (the shared broker's global setup
    // pays that in a warm-up), and collectMessages gives up on its first crash: join again.
    const groupId = uniqueName('local-kafka-restart-group');
    const group = await until(() => collectMessages(brokers, topic, { groupId }), {
      timeoutMs: 30_000,
      message: 'a consumer group joins on the fresh broker',
    });
    collectors.push(group);

    // Mid-stream: batches go out back to back, so the kill lands while one is in flight.
    let streaming = true;
    let batches = 0;
    const stream = track(
      (async () => {
        while (streaming) {
          const n = batches++;
          await send(Array.from({ length: BATCH }, (_, i) => `stream-${n}-${i}`));
        }
      })(),
    );
    await until(() => acked.length >= RECORDS_BEFORE_KILL, { message: `${RECORDS_BEFORE_KILL} records acknowledged` });

    streaming = false; // the batch in flight now is the stream's last
    const ackedBeforeKill = [...acked];
    const pidBeforeKill = broker.pid;
    let started = Date.now();
    await broker.kill();
    const killMs = Date.now() - started;

    // The stream's last batch was in flight at the kill: either its ack reached us just before the
    // SIGKILL landed, or it is stuck until the restart. Only once it has settled may another send
    // start: kafkajs hands a failed attempt's sequence numbers to whichever send of the producer
    // goes next, so two sends pending over a crash can collide (OUT_OF_ORDER_SEQUENCE_NUMBER).
    const downSince = Date.now();
    await until(() => stream.state !== 'pending', { timeoutMs: DOWN_DEADLINE_MS }).catch(() => {});
    const ackedWhileUp = acked.length;
    let whileDown = stream;
    let downOutcome = `the stream's last batch, in flight at the kill, ${stream.state} after ${Date.now() - downSince} ms`;
    if (stream.state !== 'pending') {
      const sentAt = Date.now();
      whileDown = track(send(Array.from({ length: BATCH }, (_, i) => `down-${i}`)));
      await until(() => whileDown.state === 'failed', { timeoutMs: DOWN_DEADLINE_MS }).catch(() => {});
      downOutcome = `a new send ${whileDown.state} after ${Date.now() - sentAt} ms (the stream's last batch was ${stream.state})`;
    }
    expect(whileDown.state, 'a send while the broker is down fails or stays pending').not.toBe('acked');
    expect(acked.length, 'nothing is acknowledged while the broker is down').toBe(ackedWhileUp);

    started = Date.now();
    await broker.restart();
    const restartedAt = Date.now();
    const restartMs = restartedAt - started;
    expect(broker.pid).not.toBe(pidBeforeKill);

    // (b) The same producer carries on: the sends pending over the downtime go through, and new
    // ones after them.
    await until(() => stream.state !== 'pending' && whileDown.state !== 'pending', {
      timeoutMs: RECOVERY_TIMEOUT_MS,
      message: 'the sends pending over the restart settle',
    });
    expect([stream.error, whileDown.error]).toEqual([undefined, undefined]);
    const after = Array.from({ length: 4 * BATCH }, (_, i) => `after-${i}`);
    for (let i = 0; i < after.length; i += BATCH) await send(after.slice(i, i + BATCH));
    const producerRecoveredMs = Date.now() - restartedAt;
    // ... and so does the consumer group.
    const seen = (collector: MessageCollector): Set<string | null> => new Set(collector.messages.map((m) => m.value));
    await until(() => after.every((v) => seen(group).has(v)), {
      timeoutMs: RECOVERY_TIMEOUT_MS,
      message: 'the consumer group that lived through the crash receives the records sent after the restart',
    });
    const groupRecoveredMs = Date.now() - restartedAt;

    // (a) Everything acknowledged before the kill is still there, read from the beginning; and
    // since every retry kept its sequence numbers, nothing is there twice.
    const reader = await collectMessages(brokers, topic);
    collectors.push(reader);
    await until(() => acked.every((v) => seen(reader).has(v)), {
      timeoutMs: RECOVERY_TIMEOUT_MS,
      message: `all ${acked.length} acknowledged records read back from the beginning`,
    });
    expect(ackedBeforeKill.filter((v) => !seen(reader).has(v))).toEqual([]);
    const values = reader.messages.map((m) => m.value);
    expect(values.length - new Set(values).size, 'duplicates in the log').toBe(0);

    console.log(
      `[local-kafka-restart] kill ${killMs} ms, restart ${restartMs} ms (broker session ${BROKER_SESSION_TIMEOUT_MS} ms); ` +
        `${ackedBeforeKill.length} records acked before the kill; a send while down: ${downOutcome}; ` +
        `after the restart the producer had ${after.length} new records acked in ${producerRecoveredMs} ms and ` +
        `the group received them in ${groupRecoveredMs} ms; ${values.length} records read back`,
    );
    expect(brokerLog.filter((line) => line.includes('unexpectedly')), 'a deliberate kill is no crash').toEqual([]);
    // While the broker is up: against a dead one, leaving a group waits out kafkajs' retries.
    await Promise.all(collectors.splice(0).map((c) => c.stop()));
    await producer.disconnect();
    producer = undefined;
  }, 60_000);

  it('restart() of a running broker shuts it down gracefully and brings it back', async () => {
    if (!broker) throw new Error('needs the broker of the previous test');
    const pidBefore = broker.pid;
    const started = Date.now();
    await broker.restart();
    console.log(`[local-kafka-restart] restart of the running broker (graceful) ${Date.now() - started} ms`);
    expect(broker.pid).not.toBe(pidBefore);
    const admin = new Kafka({ clientId: 'local-kafka-restart-admin', brokers: [broker.brokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      expect((await admin.describeCluster()).brokers).toHaveLength(1);
    } finally {
      await admin.disconnect();
    }
    expect(brokerLog.filter((line) => line.includes('unexpectedly'))).toEqual([]);
  });

  it('restart() says which port another process took while the broker was down', async () => {
    if (!broker) throw new Error('needs the broker of the previous test');
    const port = Number(broker.brokers.split(':')[1]);
    await broker.kill();
    squatter = createServer();
    await new Promise<void>((listening) => squatter!.listen(port, '127.0.0.1', () => listening()));
    await expect(broker.restart()).rejects.toThrow(
      `the PLAINTEXT port 127.0.0.1:${port} was taken by another process while the broker was down`,
    );
  });
});
