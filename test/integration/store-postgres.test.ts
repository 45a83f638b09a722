import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createPostgresStore } from '../../src/adapters/store/postgres.js';
import { describeRefundStoreContract } from '../contract/refund-store.contract.js';

/**
 * The store contract against a real PostgreSQL server (PG_URL, default the local one with trust
 * auth). Each run uses its own database so runs and tests never see each other's rows.
 */
const adminUrl = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `rn_test_${process.pid}_${Date.now().toString(36)}`;
let counter = 0;
const created: string[] = [];

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await admin((c) => c.query('select 1'));
});

afterAll(async () => {
  await admin(async (c) => {
    for (const name of created) await c.query(`drop database if exists "${name}" with (force)`);
  });
});

describeRefundStoreContract('postgres', async () => {
  const name = `${dbName}_${counter++}`;
  await admin((c) => c.query(`create database "${name}"`));
  created.push(name);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return createPostgresStore({ url: url.toString() });
});
