/**
 * One error base with a `retriable` flag (the kafkajs taxonomy): retry loops decide from the flag
 * alone and never from message text or class names.
 */
export class RefundNotifierError extends Error {
  readonly retriable: boolean;
  readonly code: string;

  constructor(message: string, options: { code: string; retriable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RefundNotifierError';
    this.code = options.code;
    this.retriable = options.retriable;
  }
}

/** A record or request that can never succeed as it is (BullMQ's UnrecoverableError). */
export class InvalidInputError extends RefundNotifierError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[], code = 'INVALID_INPUT') {
    super(problems.join('; '), { code, retriable: false });
    this.name = 'InvalidInputError';
    this.problems = problems;
  }
}

/** Configuration that cannot start the service; lists every problem at once. */
export class ConfigError extends RefundNotifierError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      code: 'CONFIG_INVALID',
      retriable: false,
    });
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** A transient failure of something outside (broker, database, HTTP peer): try again later. */
export class TransientError extends RefundNotifierError {
  constructor(message: string, code = 'TRANSIENT', cause?: unknown) {
    super(message, { code, retriable: true, cause });
    this.name = 'TransientError';
  }
}

export function isRetriable(err: unknown): boolean {
  if (err instanceof RefundNotifierError) return err.retriable;
  // Errors from libraries we do not classify are assumed transient: retrying a read-only or
  // idempotent step is safe, and giving up would lose work.
  return true;
}

/**
 * The store refused this data (PostgreSQL SQLSTATE classes 22 "data exception" and 23 "integrity
 * constraint violation"; SQLite CONSTRAINT, MISMATCH, TOOBIG): the same row will be refused again,
 * so the record that carries it may be dead-lettered. Every other store failure is an outage.
 */
export class StoreRefusedDataError extends RefundNotifierError {
  constructor(message: string, code: string, cause?: unknown) {
    super(message, { code, retriable: false, cause });
    this.name = 'StoreRefusedDataError';
  }
}

/** The store cannot be written now (down, read-only, full, locked, timing out): retry, lose nothing. */
export class StoreUnavailableError extends RefundNotifierError {
  constructor(message: string, code: string, cause?: unknown) {
    super(message, { code, retriable: true, cause });
    this.name = 'StoreUnavailableError';
  }
}
