import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadResultCodeTable, parseResultCodeFile, SHIPPED_RESULT_CODES_FILE } from '../../../src/config/result-codes.js';
import { ConfigError } from '../../../src/domain/errors.js';
import { lookupResultCode, resolveResultCode } from '../../../src/domain/result-codes.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'result-codes-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the shipped table', () => {
  it('loads, and every failure has an escalation flag and a playbook', () => {
    const table = loadResultCodeTable();
    expect(table.rules.size).toBeGreaterThan(20);
    for (const [code, rule] of table.rules) {
      expect(rule.source, code).toMatch(/result-codes\.yaml:\d+:\d+$/);
      if (rule.outcome === 'failed') expect(rule.playbook?.length ?? 0, code).toBeGreaterThan(20);
    }
  });

  it('finds a rule by any spelling Antom may use', () => {
    const table = loadResultCodeTable();
    expect(lookupResultCode(table, 'DPOS_REFUND_MERCHANT_BALANCE_NOT_ENOUGH')?.outcome).toBe('failed');
    // DPOS_ + REFUND_AMOUNT_EXCEED, not DPOS_REFUND_ + AMOUNT_EXCEED.
    expect(resolveResultCode(table, 'DPOS_REFUND_AMOUNT_EXCEED').code).toBe('REFUND_AMOUNT_EXCEED');
    expect(resolveResultCode(table, 'DPOS_REFUND_REFUND_AMOUNT_EXCEED').code).toBe('REFUND_AMOUNT_EXCEED');
    expect(resolveResultCode(table, 'DPOS_PAYMENT_NEVER_HEARD').code).toBe('NEVER_HEARD');
  });
});

describe('operator files', () => {
  it('replace shipped entries one by one and add new ones', () => {
    writeFileSync(
      join(dir, 'result-codes.yaml'),
      [
        'codes:',
        '  REFUND_WINDOW_EXCEED:',
        '    outcome: failed',
        '    escalate: true',
        '    playbook: Call the customer today.',
        '  BRAND_NEW_CODE:',
        '    outcome: retry',
        '    slowDown: true',
        '',
      ].join('\n'),
    );
    const table = loadResultCodeTable({ configDir: dir });
    expect(table.rules.get('REFUND_WINDOW_EXCEED')).toMatchObject({ escalate: true, playbook: 'Call the customer today.' });
    expect(table.rules.get('REFUND_WINDOW_EXCEED')?.source).toBe(`${join(dir, 'result-codes.yaml')}:2:3`);
    expect(table.rules.get('BRAND_NEW_CODE')).toMatchObject({ outcome: 'retry', slowDown: true });
    expect(table.rules.get('RISK_REJECT')?.outcome).toBe('failed');
  });

  it('the shipped directory is not read twice as an operator file', () => {
    const table = loadResultCodeTable({ configDir: join(SHIPPED_RESULT_CODES_FILE, '..') });
    expect(table.rules.get('RISK_REJECT')?.source).toContain(SHIPPED_RESULT_CODES_FILE);
  });

  it('a bad file fails with the file, the line and every problem', () => {
    const file = join(dir, 'result-codes.yaml');
    writeFileSync(
      file,
      [
        'codes:', //                                  1
        '  GOOD_ONE:', //                             2
        '    outcome: retry', //                      3
        '  DPOS_PAYMENT_RISK_REJECT:', //             4
        '    outcome: failed', //                     5
        '    escalate: true', //                      6
        '    playbook: x', //                         7
        '  HALF_DONE:', //                            8
        '    outcome: failed', //                     9
        '  TYPO:', //                                 10
        '    outcome: faild', //                      11
        '    escalte: true', //                       12
        '',
      ].join('\n'),
    );
    let error: unknown;
    try {
      loadResultCodeTable({ configDir: dir });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        `${file}:4:3: codes.DPOS_PAYMENT_RISK_REJECT: write the code without its v2 prefix, as RISK_REJECT: prefixed codes match it`,
        `${file}:8:3: codes.HALF_DONE.escalate: is required for outcome failed (true or false)`,
        `${file}:8:3: codes.HALF_DONE.playbook: is required for outcome failed: say what a human should do`,
        expect.stringMatching(new RegExp(`^${escape(file)}:11:5: codes\\.TYPO\\.outcome: `)),
        expect.stringMatching(new RegExp(`^${escape(file)}:10:3: codes\\.TYPO: .*escalte`)),
      ]),
    );
  });

  it('YAML syntax errors and duplicate codes are reported with their line', () => {
    expect(parseResultCodeFile('codes:\n  A:\n    outcome: retry\n  A:\n    outcome: retry\n', 'f.yaml').problems).toEqual([
      'f.yaml:4:3: Map keys must be unique',
    ]);
    expect(parseResultCodeFile('codes: [\n', 'g.yaml').problems[0]).toMatch(/^g\.yaml:\d+:\d+: /);
    expect(parseResultCodeFile('', 'e.yaml').problems).toEqual(['e.yaml: expected a mapping with a `codes:` key']);
  });

  it('options that do not fit the outcome are refused', () => {
    const { problems } = parseResultCodeFile(
      'codes:\n  A:\n    outcome: not-found\n    escalate: true\n  B:\n    outcome: failed\n    escalate: false\n    playbook: p\n    slowDown: true\n',
      'h.yaml',
    );
    expect(problems).toEqual([
      'h.yaml:4:5: codes.A.escalate: applies to outcome failed only, not not-found',
      'h.yaml:9:5: codes.B.slowDown: applies to outcome retry only, not failed',
    ]);
  });

  it('an unreadable extra file is a problem, not a crash', () => {
    expect(() => loadResultCodeTable({ extraFiles: [join(dir, 'missing.yaml')] })).toThrow(/missing\.yaml: cannot be read \(ENOENT\)/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
