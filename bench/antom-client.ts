/**
 * bench/antom-client: signed inquiryRefund calls per second from the Antom client to the Antom
 * sandbox over keep-alive HTTP, at several concurrencies, and the CPU cost of signing a request
 * and verifying an answer.
 *
 *   npx tsx bench/antom-client.ts [--seconds 10] [--concurrency 1,16,64] [--refunds 2000] [--api v2]
 *
 * The sandbox runs in a child process, so the client's event loop and CPU are its own (on a
 * two-core machine each side gets a core). Every refund plays `final: PENDING`, so every answer
 * is a full signed PENDING answer: the steady state of a poller. Prints figures; asserts nothing.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createAntomClient } from '../src/adapters/antom/client.js';
import { generateAntomKeyPair, loadPrivateKey, loadPublicKey } from '../src/adapters/antom/keys.js';
import { signatureHeaderFor, verifySignatureHeader } from '../src/adapters/antom/signature.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { startAntomSandbox } from '../src/simulator/sandbox.js';
import { readPrivateKey, signMessage } from '../src/simulator/signing.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '1,16,64' },
    refunds: { type: 'string', default: '2000' },
    api: { type: 'string', default: 'v2' },
    serve: { type: 'boolean', default: false },
  },
});

type ToChild = { type: 'sample' } | { type: 'stop' };
type FromChild =
  | { type: 'ready'; url: string; publicKey: string }
  /** The sandbox's CPU time and counters, over IPC so that asking opens no HTTP connection. */
  | { type: 'sample'; user: number; system: number; connections: number; inquiries: number };

if (args.serve) await serve();
else await main();

/** Child mode: the sandbox, until told to stop. */
async function serve(): Promise<void> {
  const merchantPublicKey = process.env.BENCH_MERCHANT_PUBLIC_KEY;
  if (!merchantPublicKey) throw new Error('BENCH_MERCHANT_PUBLIC_KEY is not set');
  const sandbox = await startAntomSandbox({ merchantPublicKey, seed: 1 });
  process.on('message', (message: ToChild) => {
    if (message.type === 'sample') {
      const { user, system } = process.cpuUsage();
      const { connections, inquiries } = sandbox.stats();
      process.send?.({ type: 'sample', user, system, connections, inquiries } satisfies FromChild);
    } else {
      void sandbox.close().then(() => process.exit(0));
    }
  });
  process.send?.({ type: 'ready', url: sandbox.url, publicKey: sandbox.publicKey } satisfies FromChild);
}

async function main(): Promise<void> {
  const seconds = Number(args.seconds);
  const concurrencies = (args.concurrency ?? '').split(',').map(Number);
  const refundCount = Number(args.refunds);
  const api = args.api === 'v1' ? 'v1' : 'v2';
  const merchant = generateAntomKeyPair();

  // The child inherits tsx's loader through execArgv.
  const child = fork(import.meta.filename, ['--serve'], { env: { ...process.env, BENCH_MERCHANT_PUBLIC_KEY: merchant.publicKey } });
  const ready = await next(child, 'ready');
  const { url, publicKey } = ready as Extract<FromChild, { type: 'ready' }>;

  const created = await fetch(`${url}/sandbox/refunds`, {
    method: 'POST',
    body: JSON.stringify(Array.from({ length: refundCount }, () => ({ final: 'PENDING' }))),
  });
  const refundIds = ((await created.json()) as { refunds: Array<{ refundId: string }> }).refunds.map((r) => r.refundId);

  console.log(
    `# bench/antom-client: ${api}, ${refundCount} refunds, ${seconds} s per run, node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg()[0]?.toFixed(2)}`,
  );
  console.log('');
  console.log('| concurrency | inquiries/s | p50 ms | p99 ms | connections opened | client CPU µs/inquiry | sandbox CPU µs/inquiry | not PENDING |');
  // connections opened: by the client's pool over warm-up and run (keep-alive: one per slot).
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');

  for (const concurrency of concurrencies) {
    const client = createAntomClient(
      { baseUrl: url, api, clientId: 'SANDBOX_BENCH', privateKey: merchant.privateKey, antomPublicKey: publicKey, keyVersion: '1', timeoutMs: 10_000, connections: concurrency },
      { logger: createLogger({ level: 'warn' }) },
    );
    let cursor = 0;
    const nextId = (): string => refundIds[cursor++ % refundIds.length] as string;

    const opened = await sample(child);
    // Warm-up: open the pool's connections and let the JIT settle before measuring.
    await runFor(1_000, concurrency, nextId, client.inquireRefund);
    const childBefore = await sample(child);
    const cpuBefore = process.cpuUsage();
    const run = await runFor(seconds * 1000, concurrency, nextId, client.inquireRefund);
    const cpu = process.cpuUsage(cpuBefore);
    const childAfter = await sample(child);
    await client.close();

    const count = run.latencies.length;
    run.latencies.sort((a, b) => a - b);
    const pct = (p: number) => (run.latencies[Math.min(count - 1, Math.floor(count * p))] ?? 0).toFixed(2);
    const clientUs = (cpu.user + cpu.system) / count;
    const sandboxUs = (childAfter.user + childAfter.system - childBefore.user - childBefore.system) / count;
    console.log(
      `| ${concurrency} | ${Math.round(count / (run.elapsedMs / 1000))} | ${pct(0.5)} | ${pct(0.99)} | ${childAfter.connections - opened.connections} | ${Math.round(clientUs)} | ${Math.round(sandboxUs)} | ${run.other} |`,
    );
  }

  child.send({ type: 'stop' } satisfies ToChild);
  await new Promise((resolve) => child.once('exit', resolve));

  console.log('');
  console.log('| operation (one RSA-2048 key, ~100-byte body) | µs/op | ops/s per core |');
  console.log('|---|---:|---:|');
  for (const [name, us] of cryptoCosts(merchant.privateKey)) console.log(`| ${name} | ${us.toFixed(0)} | ${Math.round(1e6 / us)} |`);
}

async function runFor(
  ms: number,
  concurrency: number,
  nextId: () => string,
  inquire: (q: { refundId: string }) => Promise<{ kind: string; refundStatus?: string }>,
): Promise<{ latencies: number[]; elapsedMs: number; other: number }> {
  const latencies: number[] = [];
  let other = 0;
  const started = performance.now();
  const deadline = started + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const outcome = await inquire({ refundId: nextId() });
        latencies.push(performance.now() - t0);
        if (outcome.kind !== 'answer' || (outcome.refundStatus !== 'PENDING' && outcome.refundStatus !== 'PROCESSING')) other += 1;
      }
    }),
  );
  return { latencies, elapsedMs: performance.now() - started, other };
}

/** Time per operation, best of 5 rounds of 500 (the best round is the least disturbed). */
function cryptoCosts(privateKeyText: string): Array<[string, number]> {
  const privateKey = loadPrivateKey(privateKeyText);
  const publicKey = loadPublicKey(generateAntomKeyPair().publicKey);
  const body = Buffer.from(JSON.stringify({ refundId: '202600000000000000001' }));
  const answer = Buffer.from(
    JSON.stringify({ refundId: '202600000000000000001', result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' }, refundStatus: 'PENDING', paymentId: 'pay-1' }),
  );
  const path = '/openapi/v2/payments/inquiryRefund';
  const header = signatureHeaderFor({ path, clientId: 'C', time: '1', body: answer, privateKey, keyVersion: '1' });
  const sandboxKey = readPrivateKey(privateKeyText);
  const measure = (fn: () => unknown): number => {
    let best = Infinity;
    for (let round = 0; round < 5; round += 1) {
      const t0 = performance.now();
      for (let i = 0; i < 500; i += 1) fn();
      best = Math.min(best, ((performance.now() - t0) * 1000) / 500);
    }
    return best;
  };
  return [
    ['client: sign a request (content + RSA-SHA256 + header)', measure(() => signatureHeaderFor({ path, clientId: 'C', time: '1', body, privateKey, keyVersion: '1' }))],
    // Verifies with the wrong key half the time would skew nothing: RSA verify costs the same.
    ['client: verify an answer (parse header + RSA-SHA256 verify)', measure(() => verifySignatureHeader({ header, path, clientId: 'C', time: '1', body: answer, publicKey }))],
    ['sandbox: sign an answer (its own code)', measure(() => signMessage(sandboxKey, '1', path, 'C', '1', answer))],
  ];
}

function next(child: ChildProcess, type: FromChild['type']): Promise<FromChild> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromChild) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => reject(new Error(`sandbox process exited (${code}) before sending ${type}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function sample(child: ChildProcess): Promise<Extract<FromChild, { type: 'sample' }>> {
  const reply = next(child, 'sample');
  child.send({ type: 'sample' } satisfies ToChild);
  return (await reply) as Extract<FromChild, { type: 'sample' }>;
}
