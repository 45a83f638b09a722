import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/store/sqlite.js';
import { describeRefundStoreContract, newRefund } from '../contract/refund-store.contract.js';

describeRefundStoreContract('sqlite (memory)', async () => createSqliteStore({ path: ':memory:' }));
describeRefundStoreContract('sqlite (file, WAL)', async () =>
  createSqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'rn-store-')), 'refunds.db'), synchronous: 'normal' }),
);

describe('sqlite store on disk', () => {
  it('keeps tracked refunds across close and reopen', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rn-store-')), 'nested', 'refunds.db');
    const first = createSqliteStore({ path });
    await first.migrate();
    await first.trackRefunds([newRefund(7)], { now: 1, firstPollAt: 2 });
    await first.close();
    const second = createSqliteStore({ path });
    await second.migrate();
    expect(await second.getRefund('R-000007')).toMatchObject({ paymentId: 'P-7', nextPollAt: 2 });
    await second.close();
  });
});
