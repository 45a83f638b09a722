/**
 * A real single-node Apache Kafka broker (KRaft, combined broker+controller) for the test suite,
 * `refund-notifier demo` and the benchmarks, run from Maven Central jars with plain `java` (no
 * Docker). The jars come from scripts/kafka/pom.xml via scripts/kafka-fetch.sh into
 * <repo>/.cache/kafka/libs; every start gets a fresh temp dir, fresh ports and a fresh cluster id,
 * so runs never share state. For fault tests, kill() crashes the JVM and restart() brings the same
 * broker back (same dir, ports and cluster id). Why this version, and the measured figures:
 * docs/kafka.md.
 *
 * This file puts the parts together and is what callers import; the parts, by concern, are in
 * local-kafka/: jars.ts (fetching the jars with Maven), kraft-storage.ts (server.properties and
 * formatting the storage), broker-process.ts and broker-jvm.ts (the JVM: start, readiness, kill,
 * restart, stop), ports.ts, topics.ts.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBrokerProcess, type BrokerProcess } from './local-kafka/broker-process.js';
import { defaultRepoRoot, ensureKafkaJars } from './local-kafka/jars.js';
import { formatBrokerStorage } from './local-kafka/kraft-storage.js';
import { tail } from './local-kafka/run-command.js';

export { ensureKafkaJars, kafkaLibsDir } from './local-kafka/jars.js';
export { createTopics } from './local-kafka/topics.js';

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

// 512 MB holds a test broker with hundreds of small topics; the JVM's RSS then stays well under
// 1 GB, which matters on a 2-core CI box that also runs Node, SQLite and the simulator.
const DEFAULT_HEAP_MB = 512;
// Measured start-to-ready is a few seconds on 2 idle cores (docs/kafka.md); 90 s leaves room for a
// cold JVM on a box that is busy compiling or running other suites, without hanging a run forever.
const DEFAULT_START_TIMEOUT_MS = 90_000;
// Kafka's own default. The controller fences a broker whose heartbeats stop for this long; on the
// shared test broker a shorter value would turn a stall of a loaded box into leaderless partitions.
const DEFAULT_BROKER_SESSION_TIMEOUT_MS = 9_000;

export async function startLocalKafka(opts: StartLocalKafkaOptions = {}): Promise<LocalKafka> {
  const settings = brokerSettings(opts);
  const { repoRoot, log } = settings;
  const libsDir = await ensureKafkaJars({ repoRoot, log });
  const deadline = Date.now() + settings.startTimeoutMs;
  const dir = await mkdtemp(join(tmpdir(), 'refund-notifier-kafka-'));
  const logFile = join(dir, 'broker.log');
  let broker: BrokerProcess | undefined;

  const removeOnExit = (): void => {
    // 'exit' handlers must be synchronous: no graceful shutdown here, only make sure no JVM
    // outlives the Node process (vitest calls process.exit on Ctrl-C) and no temp dir is left.
    broker?.killSync();
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  process.on('exit', removeOnExit);

  try {
    const { command, ports } = await formatBrokerStorage({ ...settings, libsDir, dir, deadline });
    broker = createBrokerProcess({ command, dir, logFile, ports, startTimeoutMs: settings.startTimeoutMs, log });
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

/** The options with their defaults, checked; throws on the first one out of range. */
function brokerSettings(opts: StartLocalKafkaOptions) {
  const settings = {
    repoRoot: opts.repoRoot ?? defaultRepoRoot,
    log: opts.log ?? (() => {}),
    heapMb: opts.heapMb ?? DEFAULT_HEAP_MB,
    startTimeoutMs: opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    partitions: opts.partitions ?? 1,
    brokerSessionTimeoutMs: opts.brokerSessionTimeoutMs ?? DEFAULT_BROKER_SESSION_TIMEOUT_MS,
  };
  const { heapMb, partitions, brokerSessionTimeoutMs } = settings;
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
  return settings;
}
