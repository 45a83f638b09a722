/**
 * bench/store-scale: what the store's hot statements cost as it grows. Fills a store (SQLite on
 * disk, and PostgreSQL) with 10k, 100k and 1M refunds in realistic states — 70 % final (completed
 * or failed), 25 % pending and due over the next hour, 5 % stalled — and at each size measures:
 *
 * - claim: claiming a due batch of 100 (and giving it back), the poll loop's statement;
 * - sweep: listing 100 overdue refunds, the deadline sweep's;
 * - summary: counting refunds by status, the admin summary's and the digest's;
 * - metrics: what `/metrics` reads from the store (refunds and outbox by status);
 * - ingest: tracking a batch of 500 new refunds, the ingest's insert;
 * - size: the store's bytes per refund;
 *
 * each as the median of several runs and as a ratio of its cost at 10k (goal: ≤ 1.5 × at 1M,
 * index-bound rather than table-bound). Prints figures; asserts nothing.
 *
 *   npx tsx bench/store-scale.ts [--sizes 10000,100000,1000000] [--backends sqlite,postgres]
 */
import { parseArgs } from 'node:util';
import { fillScaleStore, HOUR, openScaleBackend, scaleRefund, type ScaleBackend } from './scale-fill.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    backends: { type: 'string', default: 'sqlite,postgres' },
  },
});
const SIZES = args.sizes!.split(',').map(Number);
const NOW = Date.parse('2026-12-02T00:00:00Z');
const RUNS = 7;

/** The median time of `run`, in milliseconds. */
async function median(run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
}

async function measure(b: ScaleBackend, size: number, ingestFrom: { next: number }): Promise<Record<string, number>> {
  const now = NOW + HOUR / 2;
  return {
    claim: await median(async () => {
      const claimed = await b.store.claimDue({ owner: 'bench', now, limit: 100, leaseMs: 60_000 });
      await Promise.all(claimed.map((r) => b.store.releaseLease(r.id, 'bench')));
    }),
    sweep: await median(() => b.store.listOverdue({ stalledBefore: now - 2 * HOUR, giveUpBefore: now - 30 * 24 * HOUR, limit: 100 })),
    summary: await median(() => b.store.countByStatus()),
    metrics: await median(() => Promise.all([b.store.countByStatus(), b.store.countOutbox()])),
    ingest: await median(async () => {
      const start = ingestFrom.next;
      ingestFrom.next += 500;
      await b.store.trackRefunds(Array.from({ length: 500 }, (_, k) => scaleRefund(start + k)), { now, firstPollAt: now + 10 * HOUR, antomApi: 'v2' });
    }),
    bytesPerRefund: (await b.bytes()) / size,
  };
}

async function main(): Promise<void> {
  for (const name of args.backends!.split(',')) {
    const b = await openScaleBackend(name, 'store-scale');
    // The ingest measurement adds refunds past every size's own range (far ids, never refilled).
    const ingestFrom = { next: 50_000_000 };
    const base: Record<string, number> = {};
    console.log(`\n${name}: median of ${RUNS} runs; ratio to 10k in brackets`);
    console.log('| refunds | claim 100 | sweep 100 | summary | metrics | ingest 500 | bytes/refund | fill s |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
    let filled = 0;
    try {
      for (const size of SIZES) {
        const started = performance.now();
        await fillScaleStore(b, filled, size, NOW);
        filled = size;
        const fillSeconds = (performance.now() - started) / 1000;
        const m = await measure(b, size, ingestFrom);
        if (Object.keys(base).length === 0) Object.assign(base, m);
        const cell = (k: string) => `${m[k]!.toFixed(k === 'bytesPerRefund' ? 0 : 2)}${k === 'bytesPerRefund' ? '' : ' ms'} (${(m[k]! / base[k]!).toFixed(2)}×)`;
        console.log(`| ${size.toLocaleString('en')} | ${['claim', 'sweep', 'summary', 'metrics', 'ingest', 'bytesPerRefund'].map(cell).join(' | ')} | ${fillSeconds.toFixed(0)} |`);
      }
    } finally {
      await b.close();
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
