import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import { describe, expect, it } from 'vitest';
import { claimBacklogStatement, claimDueStatement, claimOutboxStatement } from '../../src/adapters/store/claims.js';
import { POSTGRES, SQLITE, type DialectCapabilities } from '../../src/adapters/store/dialects.js';
import type { Database } from '../../src/adapters/store/schema.js';

/**
 * The claim statements are pure: they compile without a database. One compiler for both flag sets
 * shows that the capability flags, not the dialect, decide whether rows are locked and skipped.
 */
const db = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

const lease = { owner: 'instance-a', now: 1_000, limit: 25, leaseMs: 30_000 };
const claims = {
  claimDue: (caps: DialectCapabilities) => claimDueStatement(db, caps, lease).compile(),
  claimOutbox: (caps: DialectCapabilities) => claimOutboxStatement(db, caps, { ...lease, kinds: ['event'] }).compile(),
  claimBacklog: (caps: DialectCapabilities) => claimBacklogStatement(db, caps, { ...lease, channel: 'customer', createdBefore: 500 }).compile(),
};

describe('claim statements', () => {
  for (const [name, compile] of Object.entries(claims)) {
    it(`${name}: one statement that picks and leases; SKIP LOCKED only where the flags say so`, () => {
      const locking = compile(POSTGRES);
      expect(locking.sql).toMatch(/^update "(refunds|outbox)" set "lease_owner" = \$1, "lease_expires_at" = \$2.* in \(select .* limit \$\d+ for update skip locked\) returning \*$/);
      expect(locking.parameters.slice(0, 2)).toEqual(['instance-a', 31_000]);
      expect(locking.parameters).toContain(25);
      const single = compile(SQLITE);
      expect(single.sql).not.toContain('for update');
      expect(single.sql).toBe(locking.sql.replace(' for update skip locked', ''));
    });
  }

  it('claims only free rows: no lease, or one that ran out', () => {
    for (const compile of Object.values(claims)) {
      expect(compile(POSTGRES).sql).toContain('("lease_expires_at" is null or "lease_expires_at" < $');
    }
  });
});
