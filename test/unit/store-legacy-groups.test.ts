import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, Migrator } from 'kysely';
import { describe, expect, it } from 'vitest';
import { SQLITE } from '../../src/adapters/store/dialects.js';
import { migrationProvider } from '../../src/adapters/store/migrations/index.js';
import type { Database } from '../../src/adapters/store/schema.js';
import { createSqliteStore } from '../../src/adapters/store/sqlite.js';
import { createSqliteWorkerDialect } from '../../src/adapters/store/sqlite-worker-dialect.js';

/**
 * Groups open when the service is upgraded were written with their receiver and key as text
 * (`slack:#chan`, `escalation:RISK_REJECT`). Migration 0005 gives them the structure every group
 * has now, so the flusher of the new version finishes them.
 */
describe('groups written before receivers and keys were structure', () => {
  it('are read back as structure after the upgrade, and still found by their identity', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rn-legacy-')), 'refunds.db');
    const old = new Kysely<Database>({ dialect: createSqliteWorkerDialect({ path, pragmas: ['journal_mode = WAL'] }) });
    const migrated = await new Migrator({ db: old, provider: migrationProvider(SQLITE) }).migrateTo('0004_antom_binding');
    expect(migrated.error).toBeUndefined();
    const legacy = { template: 'escalation', playbook: null, window_start: 1000, window_end: 61_000, message_channel: null, message_ts: null, dirty: 1, flushed_at: 1000, members_sent: 0, last_error: null, closed: 0 };
    await (old as Kysely<any>)
      .insertInto('notification_groups')
      .values([
        { ...legacy, receiver: 'slack:#refund-escalations', group_key: 'escalation:RISK_REJECT' },
        { ...legacy, receiver: 'email:finance@example.com,oncall@example.com', group_key: 'escalation:RISK_REJECT:USD' },
      ])
      .execute();
    await old.destroy();

    const store = createSqliteStore({ path });
    await store.migrate();
    const groups = await store.listGroupsToFlush(10 ** 9, 0);
    expect(groups.map((g) => [g.receiver, g.key])).toEqual([
      [{ type: 'slack', channel: '#refund-escalations' }, { template: 'escalation', parts: [{ value: 'RISK_REJECT' }] }],
      [{ type: 'email', to: ['finance@example.com', 'oncall@example.com'] }, { template: 'escalation', parts: [{ value: 'RISK_REJECT' }, { value: 'USD' }] }],
    ]);
    // A refund routed after the upgrade joins the group that was open before it.
    const joined = await store.addGroupMember({
      receiver: { type: 'slack', channel: '#refund-escalations' },
      key: { template: 'escalation', parts: [{ field: 'reasonCode', value: 'RISK_REJECT' }] },
      member: { refundKey: 'R-1', paymentId: 'P-1', detectedAt: 2000 },
      windowMs: 60_000,
      now: 2000,
    });
    expect(joined).toMatchObject({ created: false, added: true, group: { id: groups[0]!.id } });
    await store.close();
  });
});
