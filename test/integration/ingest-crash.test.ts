import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../support/kafka.js';
import { spawnService, type ServiceProcess } from '../support/process.js';
import { configFrom, createServiceTopics, isolatedEnv, produce, refundRecord } from '../support/service.js';

describe('ingest survives SIGKILL', () => {
  const running: ServiceProcess[] = [];
  afterEach(async () => {
    for (const p of running.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }
  });

  it('a killed and restarted service tracks every refund exactly once', async () => {
    const env = isolatedEnv('crash', { INGEST_BATCH_SIZE: '100', LOG_LEVEL: 'warn', SQLITE_SYNCHRONOUS: 'full' });
    const config = configFrom(env);
    await createServiceTopics(config, 3);
    const total = 6_000;
    await produce(env.KAFKA_BROKERS!, config.values.TOPIC_REFUND_INITIATED, Array.from({ length: total }, (_, i) => refundRecord(i)));

    const dbPath = config.database.kind === 'sqlite' ? config.database.path : '';
    const count = () => {
      try {
        const db = new Database(dbPath, { readonly: true, fileMustExist: true });
        try {
          return (db.prepare('select count(*) as n from refunds').get() as { n: number }).n;
        } finally {
          db.close();
        }
      } catch {
        return 0; // not created yet
      }
    };

    for (let round = 0; round < 2; round++) {
      const p = spawnService(['start'], env);
      running.push(p);
      const target = (round + 1) * 1_000;
      await until(() => count() >= target, { timeoutMs: 45_000, message: `round ${round}: ${target} tracked before the kill\n${p.output()}` });
      p.child.kill('SIGKILL');
      await p.exited;
    }
    expect(count()).toBeLessThan(total);

    const last = spawnService(['start'], env);
    running.push(last);
    await until(() => count() === total, { timeoutMs: 45_000, message: `all ${total} tracked after restarts\n${last.output()}` });
    last.child.kill('SIGTERM');
    expect((await last.exited).code).toBe(0);

    const db = new Database(dbPath, { readonly: true });
    const rows = (db.prepare('select count(*) as n, sum(version) as changed, count(distinct key) as keys from refunds').get() as {
      n: number;
      changed: number;
      keys: number;
    });
    const offsets = db.prepare("select json_extract(origin, '$.partition') as p, json_extract(origin, '$.offset') as o from refunds").all() as Array<{ p: number; o: string }>;
    db.close();
    // Every refund once, and no redelivered record rewrote a tracked one (version stays 0).
    expect(rows).toEqual({ n: total, changed: 0, keys: total });
    // Each refund keeps the origin of the record that first tracked it: one per source offset.
    expect(new Set(offsets.map((r) => `${r.p}:${r.o}`)).size).toBe(total);
  }, 180_000);
});
