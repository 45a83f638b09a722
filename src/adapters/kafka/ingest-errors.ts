/**
 * The ingest's errors: its one control-flow error, and how any error reads in a dead-letter reason
 * or a health problem.
 */

/**
 * Why a chunk of records could not be made durable. It never costs a record: the partition pauses
 * and the chunk is fetched again (docs/ingest.md).
 */
export class IngestOutage extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IngestOutage';
  }
}

/** The store could not be written at all (unreachable, locked, read-only). */
export function storeOutage(err: unknown): IngestOutage {
  return new IngestOutage(`the store cannot be written: ${describeError(err)}`, { cause: err });
}

/** An error as one line for a reason or a health problem: its class when telling, at most 500 characters. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`.slice(0, 500);
  return String(err).slice(0, 500);
}
