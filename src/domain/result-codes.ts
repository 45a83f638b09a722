/**
 * The result-code table: what an Antom result code means for a refund we track. The rules are
 * data (config/result-codes.yaml, extended by operators), so that a code Antom adds tomorrow is
 * one line of YAML, not a release.
 */

/**
 * What a code, arriving with resultStatus F, makes of the refund:
 * - `failed`: the refund itself failed (balance, risk, refund window, …): a final outcome;
 * - `retry`: the inquiry's outcome is unknown; ask again;
 * - `integration-fault`: our side is wrong (keys, access, API); the refund stays pending;
 * - `not-found`: Antom does not know the refund (yet).
 * A code arriving with resultStatus U is always `retry`, whatever the table says: U means the
 * inquiry's own outcome is unknown (docs/antom.md, "Result codes").
 */
export type CodeOutcome = 'failed' | 'retry' | 'integration-fault' | 'not-found';

export const CODE_OUTCOMES: readonly CodeOutcome[] = ['failed', 'retry', 'integration-fault', 'not-found'];

export interface ResultCodeRule {
  readonly outcome: CodeOutcome;
  /** Failures only: route to the escalation channel, not just the ops channel. */
  readonly escalate: boolean;
  /** What a human should do; shown with alerts and escalations. */
  readonly playbook?: string;
  /** Retry only: slow the whole instance down (traffic limits), not just this refund. */
  readonly slowDown: boolean;
  /** Antom's message for the code, for operators reading the table. */
  readonly message?: string;
  /** The file (and line) the rule came from, so an operator can tell a shipped rule from theirs. */
  readonly source?: string;
}

export interface ResultCodeTable {
  /** Keyed by normalised code (see normaliseResultCode). */
  readonly rules: ReadonlyMap<string, ResultCodeRule>;
}

/**
 * Longest first, so `DPOS_REFUND_X` loses `DPOS_REFUND_` rather than just `DPOS_`. The v2 table
 * uses all three (docs/antom.md, "Result codes"); which prefix rows 13–20 carry is a guess, so
 * every code is stripped of whichever it has and the rules are written once, unprefixed.
 */
const DPOS_PREFIXES = ['DPOS_PAYMENT_', 'DPOS_REFUND_', 'DPOS_'] as const;

/**
 * `DPOS_REFUND_MERCHANT_BALANCE_NOT_ENOUGH` -> `MERCHANT_BALANCE_NOT_ENOUGH`. Also upper-cases and
 * drops whitespace: the v2 page prints `DPOS_SYSTEM_ ERROR` with a stray space.
 */
export function normaliseResultCode(code: string): string {
  return resultCodeCandidates(code)[0] as string;
}

/**
 * The unprefixed readings of a code, most likely first. `DPOS_REFUND_AMOUNT_EXCEED` is either
 * `DPOS_REFUND_` + `AMOUNT_EXCEED` or `DPOS_` + `REFUND_AMOUNT_EXCEED`: the spec cannot tell which
 * prefix rows 13–20 carry, so both readings are offered to the table.
 */
function resultCodeCandidates(code: string): string[] {
  const compact = code.replace(/\s+/g, '').toUpperCase();
  const candidates: string[] = [];
  for (const prefix of DPOS_PREFIXES) {
    if (compact.startsWith(prefix) && compact.length > prefix.length) candidates.push(compact.slice(prefix.length));
  }
  candidates.push(compact);
  return candidates;
}

export function createResultCodeTable(rules: Iterable<readonly [string, ResultCodeRule]>): ResultCodeTable {
  const map = new Map<string, ResultCodeRule>();
  for (const [code, rule] of rules) map.set(normaliseResultCode(code), rule);
  return { rules: map };
}

/**
 * Looks a code up as Antom sent it (prefixed or not). `code` is the normalised code the rule is
 * filed under, or the default normalisation when no rule matches.
 */
export function resolveResultCode(table: ResultCodeTable, sent: string): { code: string; rule: ResultCodeRule | undefined } {
  const candidates = resultCodeCandidates(sent);
  for (const code of candidates) {
    const rule = table.rules.get(code);
    if (rule) return { code, rule };
  }
  return { code: candidates[0] as string, rule: undefined };
}

export function lookupResultCode(table: ResultCodeTable, sent: string): ResultCodeRule | undefined {
  return resolveResultCode(table, sent).rule;
}
