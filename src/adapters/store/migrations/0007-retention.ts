import { sql, type Kysely } from 'kysely';
import type { DialectCapabilities } from '../dialects.js';

/**
 * 0007_retention: the nightly retention job (docs/store.md, "Retention") walks final refunds by
 * when they became final; this index holds only final refunds, so the walk costs what it finds.
 */
export async function up(db: Kysely<any>, _caps: DialectCapabilities): Promise<void> {
  await db.schema.createIndex('refunds_finalized').on('refunds').column('finalized_at').where(sql.ref('finalized_at'), 'is not', null).execute();
}
