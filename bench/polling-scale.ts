/**
 * bench/polling-scale: the service's memory while it polls a large store. Fills a store (SQLite on
 * disk, or PostgreSQL) with refunds in realistic states (bench/scale-fill.ts: 70 % final, 25 %
 * pending and due, 5 % stalled and due; or, with `--layout all-pending`, every refund pending and
 * due), then starts the service — the compiled `bin/refund-notifier.js start` with the node options
 * of its first line, as it runs by itself, in its own process so the memory measured is the
 * service's alone — against a real Kafka broker and the Antom sandbox (in another process), and
 * lets it poll for `--seconds` at ANTOM_RATE_LIMIT while Prometheus-style scrapes of /metrics come
 * every `--scrape` seconds.
 *
 * It samples the service's RSS from /proc/<pid>/status (VmRSS, VmHWM = the peak, RssAnon,
 * RssFile), its CPU time from /proc/<pid>/stat and, through bench/memory-probe.mjs preloaded into the service, the main thread's
 * heap (process.memoryUsage()). For each size it prints the peak and steady RSS, the heap, and
 * their ratio to the first size's. Prints figures; asserts nothing.
 *
 *   npm run build && npx tsx bench/polling-scale.ts [--sizes 40000,1000000] [--layout realistic|all-pending]
 *       [--backends sqlite,postgres] [--seconds 60] [--rate 500] [--concurrency 32] [--scrape 15]
 *       [--variant='--max-semi-space-size=4 NAME=VALUE @/path/to/other/checkout' ...] [--runs 1]
 *       [--snapshots DIR] [--trace DIR]
 *
 * Each size is filled once; every run gets a fresh copy of that store. A variant is a list of node
 * options (`--…`), settings for the service (`NAME=VALUE`) and, with `@DIR`, another checkout's
 * built service (to compare commits back to back); `--runs` repeats the variants in alternation.
 * `--trace DIR` keeps a CSV of the samples and the service's log of each run; `--snapshots DIR`
 * writes heap snapshots of the service's main thread and worker threads at the end of each run.
 *
 * The sandbox answers PROCESSING for most refunds; one pending refund in 25 is final at its first
 * inquiry (a third of those failed), so outcome events flow too. Starts a local Kafka broker
 * unless KAFKA_BROKERS is set; PostgreSQL from PG_URL (default the local server).
 */
import { fork } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateAntomKeyPair } from '../src/adapters/antom/keys.js';
import { freePort } from '../src/devtools/free-port.js';
import { createTopics } from '../src/devtools/local-kafka.js';
import { startAntomSandbox, type Scenario } from '../src/simulator/sandbox.js';
import { fillScaleStore, HOUR, openScaleBackend, scaleRefund, scaleRefundState, type ScaleLayout } from './scale-fill.js';
import { benchKafka, exited, nextMessage, sleep } from './support.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '40000,1000000' },
    layout: { type: 'string', default: 'realistic' },
    backends: { type: 'string', default: 'sqlite' },
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '32' },
    scrape: { type: 'string', default: '15' },
    variant: { type: 'string', multiple: true, default: [''] },
    runs: { type: 'string', default: '1' },
    snapshots: { type: 'string' },
    trace: { type: 'string' },
    serve: { type: 'boolean', default: false },
  },
});
const REPO = join(import.meta.dirname, '..');
const LAYOUT = args.layout as ScaleLayout;
const MB = 1_048_576;

/** One pending refund in 25 is final at its first inquiry, a third of those failed; by blocks of 100 ids, so every due time has some. */
function finalAtAntom(n: number): 'SUCCESS' | 'FAIL' | undefined {
  const block = Math.floor(n / 100);
  if (scaleRefundState(n, LAYOUT) !== 'pending' || block % 25 !== 0) return undefined;
  return block % 75 === 0 ? 'FAIL' : 'SUCCESS';
}

/** Child mode: the sandbox, knowing the refunds that end; every other refund stays PROCESSING. */
async function serve(): Promise<void> {
  const sandbox = await startAntomSandbox({
    merchantPublicKey: process.env.BENCH_MERCHANT_PUBLIC_KEY!,
    seed: 1,
    notifyRetries: 'none',
    defaultScenario: { final: 'PENDING', notify: false },
  });
  const finals: Scenario[] = [];
  for (let n = 0; n < Number(process.env.BENCH_REFUNDS); n++) {
    const final = finalAtAntom(n);
    if (!final) continue;
    const r = scaleRefund(n);
    finals.push({ refundId: r.refundId!, refundRequestId: r.refundRequestId!, paymentId: r.paymentId, refundAmount: r.refundAmount, final, notify: false, ...(final === 'FAIL' ? { failCode: 'RISK_REJECT', failureReporting: 'result-code' as const } : {}) });
  }
  for (let i = 0; i < finals.length; i += 5000) sandbox.createRefunds(finals.slice(i, i + 5000));
  process.on('message', () => void sandbox.close().then(() => process.exit(0)));
  process.send?.({ env: sandbox.serviceEnv('v2') });
}

interface ProcSample {
  at: number;
  rss: number;
  hwm: number;
  anon: number;
  file: number;
  /** CPU seconds of the process so far, every thread (user + system). */
  cpu: number;
}
interface ProbeReport {
  at: number;
  usage: NodeJS.MemoryUsage;
  spaces: Record<string, number>;
}
interface RunFigures {
  inquiries: number;
  seconds: number;
  peak: number;
  steady: number;
  last: ProcSample;
  heapPeak: number;
  heapSteady: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** VmRSS, VmHWM, RssAnon and RssFile of a process, in bytes, and its CPU time. */
function readProcStatus(pid: number): ProcSample | undefined {
  let text: string;
  let stat: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  // utime and stime, the 14th and 15th fields, in clock ticks (100 a second on Linux); the
  // fields are counted after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(fields[11]) + Number(fields[12])) / 100;
  return { at: Date.now(), rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile'), cpu };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** The inquiries the service reports on /metrics (undefined when it does not answer). */
async function scrape(url: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = /^refund_notifier_poll_inquiries_total (\d+)/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}


/** What one run changes: node options, settings, and which checkout's service runs. */
interface Variant {
  readonly label: string;
  readonly nodeOptions: string[];
  readonly env: Record<string, string>;
  readonly checkout: string;
}

function parseVariant(text: string): Variant {
  const tokens = text.split(/\s+/).filter(Boolean);
  return {
    label: text.trim() || 'as is',
    nodeOptions: tokens.filter((t) => t.startsWith('--')),
    env: Object.fromEntries(tokens.filter((t) => !t.startsWith('--') && t.includes('=')).map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)])),
    checkout: tokens.find((t) => t.startsWith('@'))?.slice(1) ?? REPO,
  };
}

/** The node options the launcher's first line (`#!/usr/bin/env -S node …`) gives the service. */
function launcherOptions(checkout: string): string[] {
  const first = readFileSync(join(checkout, 'bin', 'refund-notifier.js'), 'utf8').split('\n', 1)[0]!;
  return /^#!\/usr\/bin\/env -S node (.+)$/.exec(first)?.[1]!.trim().split(/\s+/) ?? [];
}

/** Starts the service on a filled store, samples it for `--seconds`, stops it. */
async function runService(env: Record<string, string>, variant: Variant, dir: string, label: string): Promise<RunFigures> {
  const port = await freePort();
  // /metrics is served on the admin listener (ADMIN_PORT), not on HTTP_PORT.
  const adminPort = await freePort();
  const url = `http://127.0.0.1:${adminPort}`;
  // The service's own log (warnings and errors) beside the trace, when one is kept.
  const logPath = join(args.trace ?? dir, `${label}.log`);
  const log = openSync(logPath, 'w');
  const service = fork(join(variant.checkout, 'bin', 'refund-notifier.js'), ['start'], {
    cwd: variant.checkout,
    env: { ...process.env, ...env, ...variant.env, HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port), ADMIN_PORT: String(adminPort) },
    // A variant's options come last: for V8 the last of a flag wins.
    execArgv: [...launcherOptions(variant.checkout), ...variant.nodeOptions, '--import', new URL('./memory-probe.mjs', import.meta.url).href],
    stdio: ['ignore', log, log, 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => service.once('exit', resolve));
  const proc: ProcSample[] = [];
  const probes: ProbeReport[] = [];
  service.on('message', (m: any) => {
    if (m?.probe === 'memory') probes.push(m as ProbeReport);
  });
  const started = Date.now();
  const sampler = setInterval(() => {
    const s = readProcStatus(service.pid!);
    if (s) proc.push(s);
  }, 250);
  let inquiries = 0;
  try {
    const scrapeMs = Number(args.scrape) * 1000;
    let nextScrape = started + (scrapeMs > 0 ? scrapeMs : Infinity);
    while (Date.now() - started < Number(args.seconds) * 1000 && service.exitCode === null) {
      await sleep(100);
      if (Date.now() >= nextScrape) {
        inquiries = (await scrape(url)) ?? inquiries;
        nextScrape += scrapeMs;
      }
    }
    if (service.exitCode !== null) throw new Error(`the service exited early (code ${service.exitCode}):\n${readFileSync(logPath, 'utf8').slice(-2000)}`);
    inquiries = (await scrape(url)) ?? inquiries;
    // The figures end here: writing a snapshot takes memory of its own.
    clearInterval(sampler);
    service.removeAllListeners('message');
    if (args.snapshots) {
      service.send({ probe: 'snapshot', dir: args.snapshots });
      const { files } = await nextMessage<{ files: string[] }>(service, 'snapshot');
      console.log(`[polling-scale] heap snapshots: ${files.join(', ')}`);
    }
  } finally {
    clearInterval(sampler);
    service.kill('SIGTERM');
    await exited;
    closeSync(log);
  }
  const seconds = (proc.at(-1)!.at - started) / 1000;
  if (args.trace) writeTrace(label, started, proc, probes);
  // Steady: the second half of the window, after start-up and the first claims.
  const half = started + (seconds * 1000) / 2;
  const heap = probes.map((p) => p.usage.heapUsed);
  const lastProbe = probes.at(-1)!.usage;
  return {
    inquiries,
    seconds,
    peak: Math.max(...proc.map((s) => s.hwm)),
    steady: median(proc.filter((s) => s.at >= half).map((s) => s.rss)),
    last: proc.at(-1)!,
    heapPeak: Math.max(...heap),
    heapSteady: median(probes.filter((p) => p.at >= half).map((p) => p.usage.heapUsed)),
    heapTotal: lastProbe.heapTotal,
    external: lastProbe.external,
    arrayBuffers: lastProbe.arrayBuffers,
  };
}

/** One CSV row per probe report: time, RSS of the process, the main heap's parts. */
function writeTrace(label: string, started: number, proc: ProcSample[], probes: ProbeReport[]): void {
  const rows = ['s,rss_mb,anon_mb,file_mb,heap_used_mb,heap_total_mb,external_mb,array_buffers_mb,new_space_mb,old_space_mb'];
  for (const p of probes) {
    const s = proc.find((x) => x.at >= p.at) ?? proc.at(-1)!;
    const mb = (n: number | undefined) => ((n ?? 0) / MB).toFixed(1);
    rows.push([((p.at - started) / 1000).toFixed(2), mb(s.rss), mb(s.anon), mb(s.file), mb(p.usage.heapUsed), mb(p.usage.heapTotal), mb(p.usage.external), mb(p.usage.arrayBuffers), mb(p.spaces.new_space), mb(p.spaces.old_space)].join(','));
  }
  writeFileSync(join(args.trace!, `${label}.csv`), `${rows.join('\n')}\n`);
}

type Measured = RunFigures & { variant: Variant; run: number };

/** Fills a fresh store of `size` refunds, then runs the service on a copy of it once per variant and run. */
async function measureSize(backendName: string, size: number, brokers: string, merchant: { privateKey: string; publicKey: string }, dir: string): Promise<{ fillSeconds: number; runs: Measured[] }> {
  const backend = await openScaleBackend(backendName, 'polling-scale');
  const sandbox = fork(import.meta.filename, ['--serve', '--layout', LAYOUT], { env: { ...process.env, BENCH_MERCHANT_PUBLIC_KEY: merchant.publicKey, BENCH_REFUNDS: String(size) } });
  const runs: Measured[] = [];
  try {
    const fillStarted = performance.now();
    // Tracked an hour ago: every pending refund is due by now, and none is past POLL_STALLED_AFTER.
    await fillScaleStore(backend, 0, size, Date.now() - HOUR, LAYOUT);
    await backend.release();
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const { env: sandboxEnv } = await nextMessage<{ env: Record<string, string> }>(sandbox);
    for (let run = 1; run <= Number(args.runs); run++) {
      for (const [v, variant] of args.variant!.map(parseVariant).entries()) {
        const label = `${backendName}-${size}-v${v + 1}-r${run}`;
        const topicBase = `bench-polling-scale-${label}-${Date.now()}`;
        const topics = ['initiated', 'completed', 'failed', 'stalled', 'dlq'].map((t) => `${topicBase}.${t}`);
        await createTopics(brokers, topics.map((topic) => ({ topic, numPartitions: 3 })));
        const copy = await backend.copy(`v${v + 1}r${run}`);
        try {
          const env = {
            ...sandboxEnv,
            ANTOM_PRIVATE_KEY: merchant.privateKey,
            ANTOM_RATE_LIMIT: args.rate!,
            ANTOM_CONCURRENCY: args.concurrency!,
            KAFKA_BROKERS: brokers,
            KAFKA_GROUP_ID: `${topicBase}-group`,
            KAFKA_CREATE_TOPICS: 'false',
            TOPIC_REFUND_INITIATED: topics[0]!,
            TOPIC_REFUND_COMPLETED: topics[1]!,
            TOPIC_REFUND_FAILED: topics[2]!,
            TOPIC_REFUND_STALLED: topics[3]!,
            TOPIC_DEAD_LETTER: topics[4]!,
            DATABASE_URL: copy.url,
            LOG_LEVEL: 'warn',
            // No digest at 08:00 in the middle of a run: the runs compare like with like.
            DIGEST_CRON: '',
          };
          runs.push({ ...(await runService(env, variant, dir, label)), variant, run });
          console.log(`[polling-scale] ${label} (${variant.label}): peak ${(runs.at(-1)!.peak / MB).toFixed(0)} MB`);
        } finally {
          await copy.drop();
        }
      }
    }
    return { fillSeconds, runs };
  } finally {
    sandbox.send('stop');
    await exited(sandbox);
    await backend.close();
  }
}

async function main(): Promise<void> {
  const kafka = await benchKafka();
  const brokers = kafka.brokers;
  const merchant = generateAntomKeyPair();
  const dir = mkdtempSync(join(tmpdir(), 'bench-polling-scale-'));
  const mb = (n: number) => `${(n / MB).toFixed(0)} MB`;
  try {
    for (const backendName of args.backends!.split(',')) {
      const rows: string[] = [];
      // Each variant's first run at the first size: the base of its ratios.
      const base = new Map<string, RunFigures>();
      for (const size of args.sizes!.split(',').map(Number)) {
        const { fillSeconds, runs } = await measureSize(backendName, size, brokers, merchant, dir);
        const due = Array.from({ length: size }, (_, n) => scaleRefundState(n, LAYOUT)).filter((s) => s !== 'final').length;
        for (const f of runs) {
          if (!base.has(f.variant.label)) base.set(f.variant.label, f);
          const b = base.get(f.variant.label)!;
          const ratio = (k: 'peak' | 'steady' | 'heapPeak') => `${(f[k] / b[k]).toFixed(2)}×`;
          rows.push(
            `| ${size.toLocaleString('en')} (${due.toLocaleString('en')} due; fill ${fillSeconds.toFixed(0)} s) | ${f.variant.label} | ${f.run} | ${f.inquiries.toLocaleString('en')} (${(f.inquiries / f.seconds).toFixed(0)}/s) | ` +
              `**${mb(f.peak)}** (${ratio('peak')}) | ${mb(f.steady)} (${ratio('steady')}) | ${mb(f.last.anon)} / ${mb(f.last.file)} | ` +
              `${mb(f.heapPeak)} / ${mb(f.heapSteady)} (${ratio('heapPeak')}) | ${mb(f.heapTotal)} | ${mb(f.external)} / ${mb(f.arrayBuffers)} | ` +
              `${f.last.cpu.toFixed(0)} s (${((f.last.cpu / f.inquiries) * 1000).toFixed(2)} s) |`,
          );
        }
      }
      console.log(`\n${backendName}, layout ${LAYOUT}, ${args.seconds} s at ANTOM_RATE_LIMIT ${args.rate}/s, /metrics every ${args.scrape} s; ratio to the variant's first size in brackets`);
      console.log('| refunds | variant | run | inquiries | peak RSS (VmHWM) | steady RSS (median, 2nd half) | anon / file RSS at end | main heap used peak / steady | main heap total at end | external / arrayBuffers | service CPU (per 1,000 inquiries) |');
      console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const r of rows) console.log(r);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await kafka.stop();
  }
}

if (args.serve) await serve();
else await main();
