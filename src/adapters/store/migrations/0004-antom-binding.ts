import type { Kysely } from 'kysely';
import type { DialectCapabilities } from '../dialects.js';

/** 0004_antom_binding: what a refund keeps of its Antom API flavour and of Antom's answers. */
export async function up(db: Kysely<any>, caps: DialectCapabilities): Promise<void> {
  // A refund is asked with the flavour it was tracked with, whatever ANTOM_API says later.
  await db.schema.alterTable('refunds').addColumn('antom_api', 'text').execute();
  // A failure read from an F result, waiting for a second answer to confirm it.
  await db.schema.alterTable('refunds').addColumn('unconfirmed_failure', caps.json).execute();
  // What Antom confirmed: its refundAmount, settlement amount and quote, arn.
  await db.schema.alterTable('refunds').addColumn('antom_confirmed', caps.json).execute();
}
