import type { Kysely } from 'kysely';
import type { RateBucketGrant, RefundStore } from '../../app/ports.js';
import type { Database } from './schema.js';

// Optimistic writes: a take that lost the race to another instance reads again. Three instances
// taking a slice every ~50 ms collide rarely; ten tries is far past what contention ever needs.
const TRIES = 10;

/**
 * The shared token bucket (docs/operations.md, "One Antom budget"): each take refills the bucket
 * for the time since the last one, at the rate in force (slowed while a traffic-limit answer's
 * window lasts), and grants what is there, up to what was asked. The write is guarded by the row
 * as it was read, so two instances never spend the same tokens; the same statements run on SQLite
 * and PostgreSQL.
 */
export function rateBucketOperations(db: Kysely<Database>) {
  /** The bucket's row, created full the first time anyone asks for it. */
  async function read(bucket: string, burst: number, now: number) {
    const select = () => db.selectFrom('rate_buckets').selectAll().where('bucket', '=', bucket).executeTakeFirst();
    const row = await select();
    if (row) return row;
    await db
      .insertInto('rate_buckets')
      .values({ bucket, tokens: burst, refilled_at: now, slow_until: 0, slow_factor: 1 })
      .onConflict((oc) => oc.column('bucket').doNothing())
      .execute();
    return (await select())!;
  }

  return {
    takeRateTokens: async ({ bucket, want, ratePerSecond, burst, now }): Promise<RateBucketGrant> => {
      for (let attempt = 0; attempt < TRIES; attempt++) {
        const row = await read(bucket, burst, now);
        const refilledAt = Number(row.refilled_at);
        const rate = Number(row.slow_until) > now ? ratePerSecond * Number(row.slow_factor) : ratePerSecond;
        const available = Math.min(burst, Number(row.tokens) + (Math.max(0, now - refilledAt) * rate) / 1000);
        const granted = Math.max(0, Math.min(want, Math.floor(available)));
        const result = await db
          .updateTable('rate_buckets')
          .set({ tokens: available - granted, refilled_at: Math.max(now, refilledAt) })
          .where('bucket', '=', bucket)
          .where('tokens', '=', row.tokens)
          .where('refilled_at', '=', row.refilled_at)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 1) return { granted, rate, tokensLeft: available - granted };
      }
      // Lost every race: grant nothing this time; the caller waits a little and asks again.
      return { granted: 0, rate: ratePerSecond, tokensLeft: 0 };
    },
    slowRateBucket: async ({ bucket, until, factor, burst, now }) => {
      const row = await read(bucket, burst, now);
      await db
        .updateTable('rate_buckets')
        .set({ slow_until: Math.max(Number(row.slow_until), until), slow_factor: factor })
        .where('bucket', '=', bucket)
        .execute();
    },
  } satisfies Partial<RefundStore>;
}
