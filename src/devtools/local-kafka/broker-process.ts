/**
 * The local broker over its lifetime: the first start, kill() and restart() for fault tests, one
 * at a time and in call order, and close(). Each JVM it runs is a broker-jvm.ts.
 */
import { readFile, stat } from 'node:fs/promises';
import { endGracefully, isRunning, killNow, spawnBrokerJvm, spawned, waitUntilReady, type BrokerJvm } from './broker-jvm.js';
import { bindFailure, takenPorts, type BrokerPorts } from './ports.js';
import { tail } from './run-command.js';

/** The broker JVM over its lifetime: one at a time, from the first start to close(). */
export interface BrokerProcess {
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

export function createBrokerProcess(p: {
  /** java and its arguments; every JVM runs exactly this, so a restart is the same broker. */
  command: [string, ...string[]];
  dir: string;
  logFile: string;
  ports: BrokerPorts;
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
