/**
 * A real single-node Apache Kafka broker (KRaft, combined broker+controller) for the test suite,
 * `refund-notifier demo` and the benchmarks, run from Maven Central jars with plain `java` (no
 * Docker). The jars come from scripts/kafka/pom.xml via scripts/kafka-fetch.sh into
 * <repo>/.cache/kafka/libs; every start gets a fresh temp dir, fresh ports and a fresh cluster id,
 * so runs never share state. For fault tests, kill() crashes the JVM and restart() brings the same
 * broker back (same dir, ports and cluster id). Why this version, and the measured figures:
 * docs/kafka.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';

export interface LocalKafka {
  /** Bootstrap address for clients, "127.0.0.1:<port>". The same across kill() and restart(). */
  brokers: string;
  /**
   * Pid of the current broker JVM: the one the last start or restart() spawned, or, after kill(),
   * the one that was killed until restart() replaces it.
   */
  readonly pid: number;
  /** The broker's temp dir: server.properties, broker.log, data/. Kept by kill(), removed by stop(). */
  dir: string;
  /** Broker stdout and stderr (log4j2 at WARN, plus the startup line); restarts append to it. */
  logFile: string;
  /**
   * Crashes the broker: SIGKILL to the JVM, no controlled shutdown. Resolves once the process has
   * exited. Keeps the dir, the data, the ports and the cluster id for restart(). A no-op when the JVM
   * is already down. kill() and restart() run one at a time, in call order; both reject after stop().
   */
  kill(): Promise<void>;
  /**
   * Starts the JVM again from the same server.properties (same ports, data and cluster id; no
   * format) and resolves when it is ready by the same check as the first start; `pid` then names the
   * new JVM. A running broker is first shut down gracefully (SIGTERM, SIGKILL after 15 s, like
   * stop()); call kill() first for a crash. The ports cannot change (clients and the quorum config
   * name them): if another process took one while the broker was down, this rejects saying which.
   * After a failed restart the broker is down; restart() may be called again, stop() cleans up.
   */
  restart(): Promise<void>;
  /**
   * SIGTERM, SIGKILL after 15 s, then remove `dir`; works in any state (running, killed, mid-restart:
   * that restart then rejects). Idempotent: every call returns the same promise.
   */
  stop(): Promise<void>;
}

export interface StartLocalKafkaOptions {
  repoRoot?: string;
  /** Max heap of the broker JVM in MB. */
  heapMb?: number;
  /** Budget for format + start + readiness together; restart() gets the same budget for start + readiness. */
  startTimeoutMs?: number;
  log?: (msg: string) => void;
  /** `num.partitions` for auto-created topics. */
  partitions?: number;
  /**
   * `broker.session.timeout.ms`. After kill(), the restarted controller keeps the dead broker's
   * registration alive this long, and the new JVM cannot register (and be ready) before it ends,
   * so restart() after kill() takes about this much longer than a start. Default Kafka's 9000;
   * tests that kill() may lower it (see docs/kafka.md, "Crash and restart").
   */
  brokerSessionTimeoutMs?: number;
}

// This file runs from src/devtools/ (vitest, tsx) and from dist/devtools/ (after tsc); in both the
// repo root is two levels above this file's directory.
const defaultRepoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// 512 MB holds a test broker with hundreds of small topics; the JVM's RSS then stays well under
// 1 GB, which matters on a 2-core CI box that also runs Node, SQLite and the simulator.
const DEFAULT_HEAP_MB = 512;
// Measured start-to-ready is a few seconds on 2 idle cores (docs/kafka.md); 90 s leaves room for a
// cold JVM on a box that is busy compiling or running other suites, without hanging a run forever.
const DEFAULT_START_TIMEOUT_MS = 90_000;
// Kafka's own default. The controller fences a broker whose heartbeats stop for this long; on the
// shared test broker a shorter value would turn a stall of a loaded box into leaderless partitions.
const DEFAULT_BROKER_SESSION_TIMEOUT_MS = 9_000;
// Controlled shutdown of a single idle node takes well under a second; 15 s covers a loaded box
// flushing many partitions before we give up and SIGKILL (the data is throwaway anyway).
const STOP_GRACE_MS = 15_000;
// How often readiness re-reads broker.log and re-probes the broker: short enough not to add
// visible latency to a few-second start, long enough not to spin a core.
const READY_POLL_MS = 200;
const LOG_TAIL_LINES = 40;

const STARTED_LINE = 'Kafka Server started';

export function kafkaLibsDir(repoRoot: string = defaultRepoRoot): string {
  return join(repoRoot, '.cache', 'kafka', 'libs');
}

/**
 * Makes sure the broker jars for the current scripts/kafka/pom.xml are in .cache/kafka/libs,
 * running scripts/kafka-fetch.sh (Maven) only when they are missing or were fetched for another pom.
 * Returns the libs dir.
 */
export async function ensureKafkaJars(
  opts: { repoRoot?: string; log?: (msg: string) => void } = {},
): Promise<string> {
  const repoRoot = opts.repoRoot ?? defaultRepoRoot;
  const log = opts.log ?? (() => {});
  const libsDir = kafkaLibsDir(repoRoot);
  const pomPath = join(repoRoot, 'scripts', 'kafka', 'pom.xml');
  if (await libsMatchPom(libsDir, pomPath)) return libsDir;

  const script = join(repoRoot, 'scripts', 'kafka-fetch.sh');
  log(`fetching Kafka broker jars with ${script} (Maven Central) ...`);
  const { code, output } = await runCollecting('bash', [script], repoRoot, log);
  if (code !== 0) {
    throw new Error(
      `scripts/kafka-fetch.sh failed (exit ${code}); it needs mvn and Maven Central. Output:\n${tail(output)}`,
    );
  }
  if (!(await libsMatchPom(libsDir, pomPath))) {
    throw new Error(`scripts/kafka-fetch.sh succeeded but ${libsDir}/.complete does not match ${pomPath}`);
  }
  return libsDir;
}

/** The marker written last by kafka-fetch.sh names the sha256 of the pom the jars belong to. */
async function libsMatchPom(libsDir: string, pomPath: string): Promise<boolean> {
  const [marker, pom] = await Promise.all([
    readFile(join(libsDir, '.complete'), 'utf8').catch(() => undefined),
    readFile(pomPath).catch(() => undefined),
  ]);
  if (marker === undefined || pom === undefined) return false;
  const sha = createHash('sha256').update(pom).digest('hex');
  return marker.split('\n').includes(`pom-sha256=${sha}`);
}

export async function startLocalKafka(opts: StartLocalKafkaOptions = {}): Promise<LocalKafka> {
  const repoRoot = opts.repoRoot ?? defaultRepoRoot;
  const log = opts.log ?? (() => {});
  const heapMb = opts.heapMb ?? DEFAULT_HEAP_MB;
  const startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const partitions = opts.partitions ?? 1;
  const brokerSessionTimeoutMs = opts.brokerSessionTimeoutMs ?? DEFAULT_BROKER_SESSION_TIMEOUT_MS;
  if (!Number.isInteger(heapMb) || heapMb < 128) {
    // Below ~128 MB the broker's own buffers (cleaner, request queues) do not fit.
    throw new Error(`heapMb must be an integer >= 128, got ${heapMb}`);
  }
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new Error(`partitions must be an integer >= 1, got ${partitions}`);
  }
  if (!Number.isInteger(brokerSessionTimeoutMs) || brokerSessionTimeoutMs < 1_000) {
    // The broker heartbeats every quarter of it; below 250 ms heartbeats compete with real work.
    throw new Error(`brokerSessionTimeoutMs must be an integer >= 1000, got ${brokerSessionTimeoutMs}`);
  }

  const libsDir = await ensureKafkaJars({ repoRoot, log });
  const deadline = Date.now() + startTimeoutMs;
  const dir = await mkdtemp(join(tmpdir(), 'refund-notifier-kafka-'));
  const logFile = join(dir, 'broker.log');
  const configFile = join(dir, 'server.properties');
  let broker: BrokerProcess | undefined;

  const removeOnExit = (): void => {
    // 'exit' handlers must be synchronous: no graceful shutdown here, only make sure no JVM
    // outlives the Node process (vitest calls process.exit on Ctrl-C) and no temp dir is left.
    broker?.killSync();
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  process.on('exit', removeOnExit);

  try {
    const { port, controllerPort } = await twoFreePorts();
    await mkdir(join(dir, 'tmp'));
    await writeFile(configFile, serverProperties({ port, controllerPort, dataDir: join(dir, 'data'), partitions, brokerSessionTimeoutMs }));

    const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
    const jvm = jvmArgs({ repoRoot, libsDir, heapMb, dir });
    // A Kafka cluster id is a Uuid: 16 random bytes, base64url without padding. Generating it here
    // saves the extra JVM start of `kafka-storage random-uuid`.
    const clusterId = randomBytes(16).toString('base64url');

    const formatStarted = Date.now();
    const format = await runCollecting(
      java,
      [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', configFile],
      dir,
      () => {},
      Math.max(1, deadline - Date.now()),
    );
    if (format.code === -1) {
      throw new Error(`could not run ${java}: the broker needs a Java 17+ runtime on PATH or in JAVA_HOME\n${tail(format.output)}`);
    }
    if (format.code !== 0) {
      throw new Error(`kafka.tools.StorageTool format failed (exit ${format.code}):\n${tail(format.output)}`);
    }
    log(`formatted ${dir} in ${Date.now() - formatStarted} ms`);

    broker = createBrokerProcess({
      command: [java, ...jvm, 'kafka.Kafka', configFile],
      dir,
      logFile,
      ports: { PLAINTEXT: port, CONTROLLER: controllerPort },
      startTimeoutMs,
      log,
    });
    await broker.start(deadline);
  } catch (err) {
    const logTail = await readFile(logFile, 'utf8').then(
      (text) => tail(text) || '(broker.log is empty: the JVM wrote nothing yet, see docs/kafka.md troubleshooting)',
      () => '',
    );
    await broker?.close();
    process.off('exit', removeOnExit);
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(
      `local Kafka broker did not start: ${message}${logTail ? `\n--- tail of broker.log ---\n${logTail}` : ''}`,
      { cause: err },
    );
  }

  const running = broker;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await running.close();
      process.off('exit', removeOnExit);
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    })();
    return stopping;
  };
  return {
    brokers: running.brokers,
    get pid() {
      return running.pid();
    },
    dir,
    logFile,
    kill: running.kill,
    restart: running.restart,
    stop,
  };
}

/** The broker JVM over its lifetime: one at a time, from the first start to close(). */
interface BrokerProcess {
  brokers: string;
  /** Pid of the JVM spawned last; -1 before the first spawn. */
  pid(): number;
  /** Spawns the first JVM and waits until it is ready. */
  start(deadline: number): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
  /**
   * Controlled shutdown of the current JVM, after which kill() and restart() reject. A restart()
   * waiting for readiness fails at once rather than being waited for.
   */
  close(): Promise<void>;
  /** SIGKILL of the current JVM, for a synchronous process 'exit' hook. */
  killSync(): void;
}

/** One broker JVM, from spawn to exit. */
interface BrokerJvm {
  child: ChildProcess;
  /** Resolves (never rejects) once the JVM has exited or could not be started, saying how. */
  exited: Promise<string>;
  /** Set before we end the JVM on purpose, so its exit is not reported as unexpected. */
  deliberate: boolean;
}

function createBrokerProcess(p: {
  /** java and its arguments; every JVM runs exactly this, so a restart is the same broker. */
  command: [string, ...string[]];
  dir: string;
  logFile: string;
  /** Listener name -> port, as in server.properties. PLAINTEXT is the one clients use. */
  ports: { PLAINTEXT: number; CONTROLLER: number };
  startTimeoutMs: number;
  log: (msg: string) => void;
}): BrokerProcess {
  const { dir, logFile, log } = p;
  const brokers = `127.0.0.1:${p.ports.PLAINTEXT}`;
  // The JVM running now, or the one that ran last.
  let current: BrokerJvm | undefined;
  let closing = false;
  // kill() and restart() run one at a time, in call order: overlapping, they would leave it to
  // timing which JVM ends up running.
  let lastOp: Promise<unknown> = Promise.resolve();

  // The first start and restart() both come here. Readiness looks only at what this JVM appended
  // to broker.log (`logFrom`): an earlier JVM's startup line must not count.
  const launch = async (deadline: number, logFrom: number): Promise<void> => {
    const launched = Date.now();
    const next = spawnBrokerJvm(p.command, dir, logFile);
    current = next;
    const pid = await spawned(next.child);
    await waitUntilReady({ brokers, logFile, logFrom, exited: next.exited, deadline });
    log(`Kafka broker ${brokers} (pid ${pid}) ready in ${Date.now() - launched} ms, logs in ${logFile}`);
    // A broker that dies under a running demo or test suite shows up as connection errors far
    // away; say where to look. An exit before readiness is the launch's error instead.
    void next.exited.then((reason) => {
      if (!next.deliberate) log(`Kafka broker ${brokers} (pid ${pid}) ${reason} unexpectedly; see ${logFile}`);
    });
  };

  const serially = (name: string, op: () => Promise<void>): Promise<void> => {
    const run = lastOp.then(() => {
      if (closing) throw new Error(`${name}: the local Kafka broker ${brokers} was stopped and its directory removed`);
      return op();
    });
    lastOp = run.catch(() => {});
    return run;
  };

  const portsTaken = (which: string, logTail: string, cause?: unknown): Error =>
    new Error(
      `restart() of the local Kafka broker failed: ${which} was taken by another process while the broker was down. ` +
        'restart() cannot move the broker (clients and the quorum config name its ports); stop() it and start a new one.' +
        logTail,
      { cause },
    );

  const kill = (): Promise<void> =>
    serially('kill()', async () => {
      const victim = current;
      if (!victim || !isRunning(victim.child)) return;
      const started = Date.now();
      await killNow(victim);
      log(`Kafka broker ${brokers} (pid ${victim.child.pid}) killed with SIGKILL in ${Date.now() - started} ms; ${dir} kept`);
    });

  const restart = (): Promise<void> =>
    serially('restart()', async () => {
      await endGracefully(current);
      // Checked before spawning: a taken PLAINTEXT port would otherwise show only once the broker
      // has registered, which after kill() is a broker session timeout away. A process that binds
      // between this check and the JVM is caught from broker.log below.
      const taken = await takenPorts(p.ports);
      if (taken.length > 0) throw portsTaken(taken.join(' and '), '');
      const logFrom = await stat(logFile).then((s) => s.size, () => 0);
      // close() may have come in during the awaits above. From here to the spawn in launch()
      // nothing awaits, so no JVM can be spawned after close() has started.
      if (closing) throw new Error(`restart(): stop() was called while the broker ${brokers} was down`);
      try {
        await launch(Date.now() + p.startTimeoutMs, logFrom);
      } catch (err) {
        // Leave the broker down, not half up: a JVM that missed the deadline is still running.
        await killNow(current);
        if (closing) throw new Error(`restart(): stop() was called while the broker ${brokers} was coming up`, { cause: err });
        const logText = await readFile(logFile).then((b) => b.subarray(logFrom).toString('utf8'), () => '');
        const logTail = `\n--- tail of broker.log since the restart ---\n${tail(logText)}`;
        const unbound = bindFailure(logText, p.ports);
        if (unbound) throw portsTaken(unbound, logTail, err);
        const message = err instanceof Error ? err.message : String(err);
        throw new Error(`restart() of the local Kafka broker ${brokers} failed: ${message}${logTail}`, { cause: err });
      }
    });

  return {
    brokers,
    pid: () => current?.child.pid ?? -1,
    start: (deadline) => launch(deadline, 0),
    kill,
    restart,
    async close() {
      closing = true;
      await endGracefully(current);
      await lastOp;
    },
    killSync() {
      if (current && isRunning(current.child)) {
        try {
          process.kill(current.child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}

function spawnBrokerJvm(command: [string, ...string[]], dir: string, logFile: string): BrokerJvm {
  const out = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    // Own process group (detached): a Ctrl-C aimed at the demo or at vitest does not hit the broker
    // directly, so the owner can drain its consumers before stop() takes the broker down. unref()
    // keeps the JVM from holding Node's event loop open; the 'exit' hook still kills it.
    child = spawn(command[0], command.slice(1), { cwd: dir, detached: true, stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
  child.unref();
  const exited = new Promise<string>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit(`exited with ${signal ?? `code ${code}`}`));
    child.once('error', (err) => resolveExit(`could not be started: ${err.message}`));
  });
  return { child, exited, deliberate: false };
}

/** Resolves with the pid once the process exists; rejects if it could not be spawned. */
function spawned(child: ChildProcess): Promise<number> {
  return new Promise<number>((resolvePid, rejectPid) => {
    child.once('spawn', () => resolvePid(child.pid ?? -1));
    child.once('error', rejectPid);
  });
}

function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/** Controlled shutdown (SIGTERM, then SIGKILL after the grace period) of a JVM that may be gone. */
async function endGracefully(jvm: BrokerJvm | undefined): Promise<void> {
  if (!jvm) return;
  jvm.deliberate = true;
  await terminate(jvm.child, jvm.exited);
}

async function killNow(jvm: BrokerJvm | undefined): Promise<void> {
  if (!jvm || !isRunning(jvm.child)) return;
  jvm.deliberate = true;
  jvm.child.kill('SIGKILL');
  // The child is unref()ed; without a ref while we wait, a script whose only pending work is this
  // await would see Node exit before the 'exit' event arrives.
  jvm.child.ref();
  await jvm.exited;
  jvm.child.unref();
}

/**
 * Creates topics (replication factor 1, the only one a single node can hold) and waits until every
 * partition has a leader, so the first produce or subscribe does not race topic creation. Topics
 * that already exist are fine.
 */
export async function createTopics(
  brokers: string,
  topics: Array<{ topic: string; numPartitions?: number }>,
): Promise<void> {
  if (topics.length === 0) return;
  // Silent: kafkajs logs an existing topic's TOPIC_ALREADY_EXISTS at ERROR, and real failures are
  // thrown to the caller anyway.
  const admin = new Kafka({ clientId: 'local-kafka-create-topics', brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: topics.map(({ topic, numPartitions }) => ({ topic, numPartitions: numPartitions ?? 1, replicationFactor: 1 })),
      waitForLeaders: true,
    });
    // kafkajs returns false without waiting for leaders when any of the topics already existed
    // (even if others were just created), so confirm leaders ourselves.
    // 30 s: leader election on a single node takes milliseconds; this only bounds a broken broker.
    const names = topics.map(({ topic }) => topic);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const lastError = await admin
        .fetchTopicMetadata({ topics: names })
        .then(({ topics: meta }) => {
          const leaderless = meta.filter((t) => t.partitions.some((p) => p.leader < 0)).map((t) => t.name);
          return leaderless.length === 0 ? undefined : `no leader yet for ${leaderless.join(', ')}`;
        })
        .catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
      if (lastError === undefined) return;
      if (Date.now() > deadline) throw new Error(`topics ${names.join(', ')} not ready after 30 s: ${lastError}`);
      await delay(100);
    }
  } finally {
    await admin.disconnect();
  }
}

function serverProperties(p: {
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

function jvmArgs(p: { repoRoot: string; libsDir: string; heapMb: number; dir: string }): string[] {
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

/**
 * Ready means both: the broker logged its startup line, and a client actually gets a one-broker
 * cluster back (the port can accept connections before the broker serves requests).
 */
async function waitUntilReady(p: {
  brokers: string;
  logFile: string;
  /** Byte offset in logFile where this JVM's output starts. */
  logFrom: number;
  exited: Promise<string>;
  deadline: number;
}): Promise<void> {
  let exitReason: string | undefined;
  void p.exited.then((reason) => {
    exitReason = reason;
  });
  let sawStartedLine = false;
  let lastProbeError = 'no probe yet';
  for (;;) {
    if (exitReason !== undefined) throw new Error(`broker JVM ${exitReason} before it was ready`);
    if (Date.now() > p.deadline) {
      throw new Error(
        sawStartedLine
          ? `broker logged "${STARTED_LINE}" but did not answer describeCluster in time (last error: ${lastProbeError})`
          : `timed out waiting for "${STARTED_LINE}" in ${p.logFile}`,
      );
    }
    if (!sawStartedLine) {
      const output = await readFile(p.logFile).catch(() => Buffer.alloc(0));
      sawStartedLine = output.subarray(p.logFrom).toString('utf8').includes(STARTED_LINE);
    }
    if (sawStartedLine) {
      const probe = await probeCluster(p.brokers);
      if (probe === undefined) return;
      lastProbeError = probe;
    }
    await delay(READY_POLL_MS);
  }
}

/** Returns undefined when the cluster answers with exactly one broker, else what went wrong. */
async function probeCluster(brokers: string): Promise<string | undefined> {
  const admin = new Kafka({
    clientId: 'local-kafka-probe',
    brokers: [brokers],
    // The probe is expected to fail a few times while the broker comes up; those are not news.
    logLevel: logLevel.NOTHING,
    // The caller's loop is the retry; kafkajs' own backoff would overshoot the poll interval.
    retry: { retries: 0 },
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length === 1 ? undefined : `describeCluster returned ${cluster.brokers.length} brokers`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function terminate(child: ChildProcess, exited: Promise<string> | undefined): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone =
    exited ?? new Promise<string>((resolveExit) => child.once('exit', () => resolveExit('exited')));
  child.kill('SIGTERM');
  // A plain timer that is cleared: a pending 15 s timer would keep the owner's process (vitest,
  // the demo) alive long after the broker is gone.
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'timeout'>((resolveTimer) => {
    timer = setTimeout(() => resolveTimer('timeout'), STOP_GRACE_MS);
  });
  const outcome = await Promise.race([gone, graceOver]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    await gone;
  }
}

/**
 * Two ports the OS reports free right now. Both listeners stay open until both ports are known, so
 * they differ. Another process could grab one before the JVM binds it; that shows up as a
 * BindException in the error's log tail, and a retry picks new ports.
 */
async function twoFreePorts(): Promise<{ port: number; controllerPort: number }> {
  const listen = (): Promise<Server> =>
    new Promise((resolveServer, rejectServer) => {
      const server = createServer();
      server.once('error', rejectServer);
      server.listen(0, '127.0.0.1', () => resolveServer(server));
    });
  const servers = await Promise.all([listen(), listen()]);
  const [port, controllerPort] = servers.map((s) => (s.address() as AddressInfo).port) as [number, number];
  await Promise.all(servers.map((s) => new Promise<void>((done) => s.close(() => done()))));
  return { port, controllerPort };
}

/** Runs a command to completion, collecting stdout+stderr (and streaming lines to `log`). */
function runCollecting(
  command: string,
  args: string[],
  cwd: string,
  log: (msg: string) => void,
  timeoutMs?: number,
): Promise<{ code: number; output: string }> {
  return new Promise((resolveRun) => {
    const proc = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      output += text;
      for (const line of text.split('\n')) if (line.trim()) log(line.trimEnd());
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            output += `\n(killed after ${timeoutMs} ms)`;
            proc.kill('SIGKILL');
          }, timeoutMs);
    proc.once('error', (err) => {
      if (timer) clearTimeout(timer);
      resolveRun({ code: -1, output: `${output}\ncould not run ${command}: ${err.message}` });
    });
    proc.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolveRun({ code: code ?? (signal ? 128 : 1), output });
    });
  });
}

function tail(text: string): string {
  return text.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
}

/**
 * Names the port the JVM could not bind, from its log; undefined if the failure was something else.
 * Kafka logs "Socket server failed to bind to <host>:<port>: Address already in use." and exits.
 */
function bindFailure(logText: string, ports: Record<string, number>): string | undefined {
  if (!/Address already in use|BindException/.test(logText)) return undefined;
  const port = Number(/failed to bind to [^\s:]+:(\d+)/.exec(logText)?.[1]);
  const named = Object.entries(ports).find(([, p]) => p === port);
  return named
    ? portName(named[0], named[1])
    : `one of its ports (${Object.entries(ports)
        .map(([name, p]) => portName(name, p))
        .join(', ')})`;
}

function portName(listener: string, port: number): string {
  return `the ${listener} port 127.0.0.1:${port}`;
}

/** Which of `ports` another process listens on right now, named like bindFailure() names them. */
async function takenPorts(ports: Record<string, number>): Promise<string[]> {
  const taken: string[] = [];
  for (const [listener, port] of Object.entries(ports)) {
    const inUse = await new Promise<boolean>((resolveProbe, rejectProbe) => {
      const server = createServer();
      server.once('error', (err: NodeJS.ErrnoException) =>
        err.code === 'EADDRINUSE' ? resolveProbe(true) : rejectProbe(err),
      );
      // Node listens with SO_REUSEADDR, like the JVM: the dead broker's TIME_WAIT connections do
      // not count as taken, only a listener does.
      server.listen(port, '127.0.0.1', () => server.close(() => resolveProbe(false)));
    });
    if (inUse) taken.push(portName(listener, port));
  }
  return taken;
}
