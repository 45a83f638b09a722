import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Service } from '../../../src/main.js';
import { collectMessages, until, type MessageCollector } from '../../support/kafka.js';
import { configFrom, createServiceTopics, inProcessService, isolatedEnv, produce, refundRecord } from '../../support/service.js';

/**
 * The fault suite, a store that refuses writes (docs/reliability.md): the service reads but
 * cannot write for a while — SQLite with another connection holding the write lock past
 * busy_timeout, PostgreSQL made read-only (as after a failover to a standby). Valid refunds keep
 * arriving. None may be dead-lettered; all must be tracked once the store takes writes again; and
 * meanwhile /readyz must say why the service is not ready.
 */

const RECORDS = 1_000;
const adminUrl = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

describe('fault suite: the store refuses writes', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  interface Fault {
    /** The store starts refusing writes. */
    break(): Promise<void>;
    /** It takes writes again. */
    mend(): Promise<void>;
  }

  /** A service on its own topics, with a collector on its dead-letter topic. */
  async function watched(prefix: string, over: Record<string, string>, partitions: number) {
    const env = isolatedEnv(prefix, { INGEST_BATCH_SIZE: '200', ...over });
    const config = configFrom(env);
    await createServiceTopics(config, partitions);
    const brokers = env.KAFKA_BROKERS!;
    const dlq: MessageCollector = await collectMessages(brokers, config.values.TOPIC_DEAD_LETTER);
    cleanups.push(() => dlq.stop());
    const service: Service = inProcessService(config);
    cleanups.push(() => service.stop());
    const { adminUrl } = await service.start();
    return { config, brokers, dlq, service, adminUrl };
  }

  /** Starts the service, breaks the store, produces, checks readiness, mends the store, checks the outcome. */
  async function outage(prefix: string, over: Record<string, string>, faultFor: (config: ReturnType<typeof configFrom>) => Fault): Promise<void> {
    const { config, brokers, dlq, service, adminUrl } = await watched(prefix, over, 3);
    const fault = faultFor(config);
    const ready = async () => {
      const res = await fetch(`${adminUrl}/readyz`);
      return { status: res.status, body: (await res.json()) as { checks: Array<{ name: string; ok: boolean; error?: string }> } };
    };

    // A first part while the store is healthy.
    await produce(brokers, config.values.TOPIC_REFUND_INITIATED, Array.from({ length: 100 }, (_, i) => refundRecord(i)));
    await until(async () => (await service.store.countByStatus()).pending === 100, { timeoutMs: 30_000, message: 'the first 100 tracked' });
    expect((await ready()).status).toBe(200);

    const broken = Date.now();
    await fault.break();
    await produce(brokers, config.values.TOPIC_REFUND_INITIATED, Array.from({ length: RECORDS - 100 }, (_, i) => refundRecord(100 + i)));
    // Not ready, and saying why: the probe's write fails, the ingest has paused its partitions.
    const during = await until(
      async () => {
        const r = await ready();
        const ingest = r.body.checks.find((c) => c.name === 'kafka');
        // Paused after a refused write, or reported while a write waits (SQLite's one writer thread
        // waits out busy_timeout for every statement queued before the ingest's, so the first
        // refusal comes late; the report of a waiting write does not).
        return r.status === 503 && /(paused since .*the store cannot be written|a write to the store or the dead-letter topic has been waiting)/.test(ingest?.error ?? '') ? r : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 250, message: 'readiness reports the store outage' },
    );
    expect(during!.body.checks.find((c) => c.name === 'store')).toMatchObject({ ok: false });
    // Held for 12 s in all: past SQLite's busy_timeout (5 s) and several pause backoffs.
    await until(() => Date.now() - broken >= 12_000, { timeoutMs: 20_000, intervalMs: 100 });
    await fault.mend();
    const mended = Date.now();

    await until(async () => (await service.store.countByStatus()).pending === RECORDS, {
      timeoutMs: 90_000,
      intervalMs: 250,
      message: `all ${RECORDS} tracked after the store came back (ingest ${JSON.stringify(service.ingest.stats)})`,
    });
    const caughtUp = Date.now();
    await until(async () => (await ready()).status === 200, { timeoutMs: 30_000, message: 'ready again' });
    // Nothing was lost to the dead-letter topic.
    expect(service.ingest.stats.deadLettered).toBe(0);
    expect(dlq.messages).toEqual([]);
    expect(service.ingest.stats).toMatchObject({ tracked: RECORDS, restarts: 0 });
    console.log(
      `[store-outage] ${prefix}: writes refused for ${((mended - broken) / 1000).toFixed(1)} s while ${RECORDS - 100} records arrived; ${service.ingest.stats.pauses} partition pauses; all ${RECORDS} tracked ${((caughtUp - mended) / 1000).toFixed(1)} s after the store came back; 0 dead-lettered`,
    );
  }

  it('SQLite: another connection holds the write lock past busy_timeout: nothing dead-lettered, all tracked after', async () => {
    let holder: Database.Database | undefined;
    cleanups.push(async () => holder?.open && holder.close());
    await outage('store-sqlite', {}, (config) => ({
      async break() {
        holder = new Database(config.database.kind === 'sqlite' ? config.database.path : '');
        holder.exec('begin immediate');
      },
      async mend() {
        holder!.exec('rollback');
        holder!.close();
      },
    }));
  }, 180_000);

  /** A database and a login role of their own on the local PostgreSQL server. */
  async function pgDatabase(): Promise<{ url: string; admin: (sql: string, db?: string) => Promise<void> }> {
    const name = `rn_fault_${process.pid}_${Date.now().toString(36)}`;
    const admin = async (sql: string, db?: string) => {
      const target = new URL(adminUrl);
      if (db) target.pathname = `/${db}`;
      const client = new pg.Client({ connectionString: target.toString() });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    };
    await admin(`create role ${name} login`);
    await admin(`create database ${name} owner ${name}`);
    cleanups.push(async () => {
      await admin(`drop database if exists ${name} with (force)`);
      await admin(`drop role if exists ${name}`);
    });
    const url = new URL(adminUrl);
    url.username = name;
    url.pathname = `/${name}`;
    return { url: url.toString(), admin: (sql, db = name) => admin(sql, db) };
  }

  it('PostgreSQL refuses one record\'s data: only that record is dead-lettered; twenty refusals in a row are an outage', async () => {
    const db = await pgDatabase();
    const { config, brokers, dlq, service, adminUrl } = await watched('store-refuses', { DATABASE_URL: db.url }, 1);
    // A rule of the database the records know nothing of (a trigger or a check an operator added).
    await db.admin(`alter table refunds add constraint no_poison check (payment_id <> 'P-POISON') not valid`);
    const poison = (n: number) => refundRecord(500 + n, { paymentId: 'P-POISON' });

    await produce(brokers, config.values.TOPIC_REFUND_INITIATED, [...Array.from({ length: 50 }, (_, i) => refundRecord(i)), poison(0), ...Array.from({ length: 50 }, (_, i) => refundRecord(50 + i))]);
    await until(async () => (await service.store.countByStatus()).pending === 100 && dlq.messages.length === 1, {
      timeoutMs: 30_000,
      message: 'the 100 good records tracked and the refused one dead-lettered',
    });
    expect(dlq.messages[0]!.key).toBe('RF-0000500');
    expect(dlq.messages[0]!.headers['x-dlq-reason']).toMatch(/^the store refused the record: .*SQLSTATE 23514/);

    // Twenty-five refused in a row: the store, not the data, is the problem. Nothing more is
    // dead-lettered; the partition waits, and readiness says why.
    await produce(brokers, config.values.TOPIC_REFUND_INITIATED, [...Array.from({ length: 25 }, (_, i) => poison(1 + i)), ...Array.from({ length: 10 }, (_, i) => refundRecord(100 + i))]);
    await until(
      async () => {
        const body = (await (await fetch(`${adminUrl}/readyz`)).json()) as { checks: Array<{ name: string; error?: string }> };
        return /refused 2\d records in a row/.test(body.checks.find((c) => c.name === 'kafka')?.error ?? '');
      },
      { timeoutMs: 30_000, intervalMs: 250, message: 'readiness reports the refusals as an outage' },
    );
    expect(dlq.messages).toHaveLength(1);
    expect((await service.store.countByStatus()).pending).toBe(100);
    // The operator removes the rule: everything waiting is tracked, nothing was lost.
    await db.admin('alter table refunds drop constraint no_poison');
    await until(async () => (await service.store.countByStatus()).pending === 135, { timeoutMs: 90_000, intervalMs: 250, message: 'all 135 tracked after the rule was dropped' });
    expect(dlq.messages).toHaveLength(1);
    expect(service.ingest.stats).toMatchObject({ deadLettered: 1, restarts: 0 });
  }, 180_000);

  it('PostgreSQL: the database turns read-only (a failover to a standby): nothing dead-lettered, all tracked after', async () => {
    const db = await pgDatabase();
    const name = new URL(db.url).pathname.slice(1);
    const admin = (sql: string) => db.admin(sql, 'postgres');
    // Sessions keep the setting they started with: end them so the pool reconnects under the new one.
    const reconnectAll = () => admin(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${name}' and pid <> pg_backend_pid()`);
    await outage('store-pg', { DATABASE_URL: db.url }, () => ({
      async break() {
        await admin(`alter database ${name} set default_transaction_read_only = on`);
        await reconnectAll();
      },
      async mend() {
        await admin(`alter database ${name} set default_transaction_read_only = off`);
        await reconnectAll();
      },
    }));
  }, 180_000);
});
