/**
 * One error base with a `retriable` flag (the kafkajs taxonomy): retry loops decide from the flag
 * alone and never from message text or class names.
 */
export class RefundNotifierError extends Error {
  readonly retriable: boolean;
  readonly code: string;
  /** How long the peer asked us to wait (a Retry-After), when it said. */
  readonly retryAfterMs?: number;
  /**
   * A send that may have reached its receiver although it failed (a connection lost after the
   * message went out): never repeated, reported instead.
   */
  readonly inDoubt: boolean;

  constructor(message: string, options: { code: string; retriable: boolean; cause?: unknown; retryAfterMs?: number; inDoubt?: boolean }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RefundNotifierError';
    this.code = options.code;
    this.retriable = options.retriable;
    this.inDoubt = options.inDoubt ?? false;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
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

export function isRetriable(err: unknown): boolean {
  if (err instanceof RefundNotifierError) return err.retriable;
  // Errors from libraries we do not classify are assumed transient: retrying a read-only or
  // idempotent step is safe, and giving up would lose work.
  return true;
}

/** Whether a failed send may have reached its receiver anyway (see RefundNotifierError.inDoubt). */
export function isInDoubt(err: unknown): boolean {
  return err instanceof RefundNotifierError && err.inDoubt;
}

/** The wait a peer asked for, if it asked (see RefundNotifierError.retryAfterMs). */
export function retryAfterOf(err: unknown): number | undefined {
  return err instanceof RefundNotifierError ? err.retryAfterMs : undefined;
}

/** A permanent refusal to send, with the reason (it lands in /admin/outbox?status=dead). */
export class NotSentError extends RefundNotifierError {
  constructor(message: string, code: string) {
    super(message, { code, retriable: false });
    this.name = 'NotSentError';
  }
}

/** A send that may have reached its receiver: never repeated, reported instead. */
export class InDoubtError extends RefundNotifierError {
  constructor(message: string) {
    super(message, { code: 'IN_DOUBT', retriable: false, inDoubt: true });
    this.name = 'InDoubtError';
  }
}

/**
 * A delivery that is no longer ours: its lease passed to another dispatcher before it was sent.
 * Nothing is marked; the new holder decides.
 */
export class LeaseLostError extends RefundNotifierError {
  constructor(message: string) {
    super(message, { code: 'LEASE_LOST', retriable: false });
    this.name = 'LeaseLostError';
  }
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
