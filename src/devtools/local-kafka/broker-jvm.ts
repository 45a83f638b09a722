/**
 * One broker JVM, from spawn to exit: starting it in its own process group, waiting until it is
 * ready, and ending it (gracefully, or with SIGKILL for a crash test).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';

// Controlled shutdown of a single idle node takes well under a second; 15 s covers a loaded box
// flushing many partitions before we give up and SIGKILL (the data is throwaway anyway).
const STOP_GRACE_MS = 15_000;
// How often readiness re-reads broker.log and re-probes the broker: short enough not to add
// visible latency to a few-second start, long enough not to spin a core.
const READY_POLL_MS = 200;

const STARTED_LINE = 'Kafka Server started';

/** One broker JVM, from spawn to exit. */
export interface BrokerJvm {
  child: ChildProcess;
  /** Resolves (never rejects) once the JVM has exited or could not be started, saying how. */
  exited: Promise<string>;
  /** Set before we end the JVM on purpose, so its exit is not reported as unexpected. */
  deliberate: boolean;
}

export function spawnBrokerJvm(command: [string, ...string[]], dir: string, logFile: string): BrokerJvm {
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
export function spawned(child: ChildProcess): Promise<number> {
  return new Promise<number>((resolvePid, rejectPid) => {
    child.once('spawn', () => resolvePid(child.pid ?? -1));
    child.once('error', rejectPid);
  });
}

export function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/** Controlled shutdown (SIGTERM, then SIGKILL after the grace period) of a JVM that may be gone. */
export async function endGracefully(jvm: BrokerJvm | undefined): Promise<void> {
  if (!jvm) return;
  jvm.deliberate = true;
  await terminate(jvm.child, jvm.exited);
}

export async function killNow(jvm: BrokerJvm | undefined): Promise<void> {
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
 * Ready means both: the broker logged its startup line, and a client actually gets a one-broker
 * cluster back (the port can accept connections before the broker serves requests).
 */
export async function waitUntilReady(p: {
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
