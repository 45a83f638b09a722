/**
 * A fresh single-node KRaft broker on disk: its server.properties, the JVM options it runs with,
 * and the storage formatted with a new cluster id (what `kafka-storage format` does).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { twoFreePorts, type BrokerPorts } from './ports.js';
import { runCollecting, tail } from './run-command.js';

export interface BrokerStorageOptions {
  repoRoot: string;
  libsDir: string;
  /** The broker's temp dir: server.properties, data/ and tmp/ go here. */
  dir: string;
  heapMb: number;
  partitions: number;
  brokerSessionTimeoutMs: number;
  /** Epoch ms by which the format must be done. */
  deadline: number;
  log: (msg: string) => void;
}

/** What runs the broker once its storage is formatted. */
export interface FormattedBroker {
  /** java and its arguments; every JVM runs exactly this, so a restart is the same broker. */
  command: [string, ...string[]];
  ports: BrokerPorts;
}

/** Picks the ports, writes server.properties and formats the storage; throws saying what failed. */
export async function formatBrokerStorage(o: BrokerStorageOptions): Promise<FormattedBroker> {
  const { dir } = o;
  const configFile = join(dir, 'server.properties');
  const { port, controllerPort } = await twoFreePorts();
  await mkdir(join(dir, 'tmp'));
  const dataDir = join(dir, 'data');
  await writeFile(configFile, serverProperties({ port, controllerPort, dataDir, partitions: o.partitions, brokerSessionTimeoutMs: o.brokerSessionTimeoutMs }));

  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const jvm = jvmArgs({ repoRoot: o.repoRoot, libsDir: o.libsDir, heapMb: o.heapMb, dir });
  // A Kafka cluster id is a Uuid: 16 random bytes, base64url without padding. Generating it here
  // saves the extra JVM start of `kafka-storage random-uuid`.
  const clusterId = randomBytes(16).toString('base64url');

  const formatStarted = Date.now();
  const format = await runCollecting(
    java,
    [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', configFile],
    dir,
    () => {},
    Math.max(1, o.deadline - Date.now()),
  );
  if (format.code === -1) {
    throw new Error(`could not run ${java}: the broker needs a Java 17+ runtime on PATH or in JAVA_HOME\n${tail(format.output)}`);
  }
  if (format.code !== 0) {
    throw new Error(`kafka.tools.StorageTool format failed (exit ${format.code}):\n${tail(format.output)}`);
  }
  o.log(`formatted ${dir} in ${Date.now() - formatStarted} ms`);
  return { command: [java, ...jvm, 'kafka.Kafka', configFile], ports: { PLAINTEXT: port, CONTROLLER: controllerPort } };
}

export function serverProperties(p: {
  port: number;
  controllerPort: number;
  dataDir: string;
  partitions: number;
  brokerSessionTimeoutMs: number;
}): string {
  // Static quorum (controller.quorum.voters) formats without a --standalone flag and works the
  // same on 3.9 and 4.x; everything sized for one node (replication factor 1, ISR 1).
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${p.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${p.port},CONTROLLER://127.0.0.1:${p.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${p.port}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${p.dataDir}`,
    `num.partitions=${p.partitions}`,
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'auto.create.topics.enable=true',
    // The internal topics default to RF 3, which a single node can never satisfy: consumers would
    // see "group coordinator not available" forever.
    'offsets.topic.replication.factor=1',
    // One partition instead of 50 makes the first group join (which creates the topic) fast.
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    // 4.x only; 3.9 logs them as unknown and carries on.
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // Tests join groups constantly; the default 3 s delay would be added to every first join.
    'group.initial.rebalance.delay.ms=0',
    // Lets tests give kafkajs consumers short session timeouts (the broker default floor is 6 s),
    // so a rebalance after a crashed consumer takes seconds, not tens of seconds.
    'group.min.session.timeout.ms=1000',
    // Kafka's ratio of heartbeat to session (2 s to 9 s) is about 1:4; keep it for shorter sessions,
    // so a few heartbeats can be late before the controller fences the broker.
    `broker.session.timeout.ms=${p.brokerSessionTimeoutMs}`,
    `broker.heartbeat.interval.ms=${Math.min(2_000, Math.floor(p.brokerSessionTimeoutMs / 4))}`,
    // Defaults (3 network, 8 io threads) are sized for servers; two cores cannot use more.
    'num.network.threads=2',
    'num.io.threads=2',
    // The cleaner's default 128 MB dedupe buffer would eat a quarter of the 512 MB heap.
    'log.cleaner.dedupe.buffer.size=16777216',
    '',
  ].join('\n');
}

export function jvmArgs(p: { repoRoot: string; libsDir: string; heapMb: number; dir: string }): string[] {
  return [
    // Start at most at 256 MB: enough for startup without heap resizing, no more committed up front.
    `-Xms${Math.min(256, p.heapMb)}m`,
    `-Xmx${p.heapMb}m`,
    // One GC thread and C1 only: less CPU spent warming the JVM up on a 2-core box shared with
    // Node. The broker's peak throughput is not what tests or the demo measure.
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-XX:+ExitOnOutOfMemoryError',
    // No /tmp/hsperfdata_<user>/<pid> file, which a SIGKILLed JVM would leave behind.
    '-XX:-UsePerfData',
    '-Djava.awt.headless=true',
    // Native libraries (zstd-jni, snappy) unpack into java.io.tmpdir; keep them in the broker's dir
    // so stop() removes them even after a SIGKILL.
    `-Djava.io.tmpdir=${join(p.dir, 'tmp')}`,
    `-Dlog4j2.configurationFile=${join(p.repoRoot, 'scripts', 'kafka', 'log4j2.properties')}`,
    '-cp',
    `${p.libsDir}/*`,
  ];
}
