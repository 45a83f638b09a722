import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadResultCodeTable } from '../../../src/config/result-codes.js';
import { SHIPPED_ROUTING_FILE, loadRoutingTree, parseRoutingFile, routingFilePath } from '../../../src/config/routing.js';
import { ConfigError } from '../../../src/domain/errors.js';

function problems(yaml: string, options = {}): readonly string[] {
  return parseRoutingFile(yaml, 'routing.yaml', options).problems;
}

describe('loading routing files', () => {
  it('loads the shipped file, every reason code in it known to the result-code table', () => {
    const table = loadResultCodeTable();
    const tree = loadRoutingTree(SHIPPED_ROUTING_FILE, { knownReasonCodes: table.rules.keys() });
    expect(tree.routes.map((r) => r.name)).toEqual(['completed', 'escalated-codes', 'escalated-by-table', 'failed', 'stalled', 'integration-fault']);
    expect(tree.routes[0]!.source).toMatch(/routing\.yaml:\d+$/);
    expect([...tree.receivers.keys()].sort()).toEqual(['customer', 'escalation', 'escalation-channel', 'ops-channel']);
  });

  it('prefers CONFIG_DIR/routing.yaml and falls back to the shipped one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'routing-'));
    expect(routingFilePath(dir)).toBe(SHIPPED_ROUTING_FILE);
    writeFileSync(join(dir, 'routing.yaml'), 'receivers: { a: { slack: "#a" } }\nroutes: [ { receivers: [a] } ]\n');
    expect(routingFilePath(dir)).toBe(join(dir, 'routing.yaml'));
    expect(loadRoutingTree(routingFilePath(dir)).routes).toHaveLength(1);
  });

  it('names the line of every problem at once', () => {
    const yaml = [
      'version: 1', //                                   1
      'receivers:', //                                   2
      '  ops: { slack: "#refunds" }', //                 3
      '  bad-channel: { slack: "refunds" }', //          4
      '  bad-var: { slack: $SLACK_FINANCE }', //         5
      '  mail:', //                                      6
      '    email: [ok@example.com, not-an-address]', //  7
      '  nothing: {}', //                                8
      'routes:', //                                      9
      '  - match:', //                                   10
      '      event: refund.done', //                     11
      '      reasonCode: [RISK_REJECT, risk reject]', // 12
      '    receivers: [ops]', //                         13
      '  - match: { evnt: refund.failed }', //           14
      '    receivers: [ops]', //                         15
      '  - receivers: [opz]', //                         16
      '    template: customer-completed', //             17
      '  - match: { amountAbove: { currency: USD, value: 12.50 } }', // 18
      '    receivers: [ops]', //                         19
      '    continue: yes please', //                     20
    ].join('\n');
    const found = problems(yaml);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^routing\.yaml:11: routes\[0\]\.match\.event\[0\]: must be one of refund\.completed, .*got "refund\.done"/),
        expect.stringMatching(/^routing\.yaml:12: routes\[0\]\.match\.reasonCode\[1\]: "RISK REJECT" is not a reason code/),
        expect.stringMatching(/^routing\.yaml:14: routes\[1\]\.match\.evnt: unknown key "evnt" \(known: event, reasonCode,/),
        expect.stringMatching(/^routing\.yaml:17: routes\[2\]\.template: must be one of ops-line, escalation, stalled, integration-fault/),
        expect.stringMatching(/^routing\.yaml:18: routes\[3\]\.match\.amountAbove\.value: must be a whole number of minor units/),
        expect.stringMatching(/^routing\.yaml:20: routes\[3\]\.continue: must be true or false/),
      ]),
    );
    // Reference and value problems are reported once the shapes are right.
    const fixed = yaml
      .replace('refund.done', 'refund.failed')
      .replace('risk reject', 'PROCESS_FAIL')
      .replace('evnt', 'event')
      .replace('    template: customer-completed', '    template: ops-line')
      .replace('value: 12.50', 'value: 1250')
      .replace('continue: yes please', 'continue: true');
    expect(problems(fixed)).toEqual([
      'routing.yaml:4: receivers.bad-channel.slack: "refunds" is not a channel: write #name (lower case) or a channel id such as C0123ABCD',
      'routing.yaml:5: receivers.bad-var.slack: unknown variable $SLACK_FINANCE: use $SLACK_OPS_CHANNEL or $SLACK_ESCALATION_CHANNEL',
      'routing.yaml:7: receivers.mail.email[1]: "not-an-address" is not an email address',
      'routing.yaml:8: receivers.nothing: says nowhere to send: give slack:, email: and/or customerEmail: true',
      'routing.yaml:16: routes[2].receivers[0]: unknown receiver "opz" (defined: ops, bad-channel, bad-var, mail, nothing)',
    ]);
  });

  it('reports YAML syntax errors and duplicate keys with their line', () => {
    expect(problems('receivers:\n  a: { slack: "#a" }\nroutes:\n  - receivers: [a\n')[0]).toMatch(/^routing\.yaml:\d+: /);
    expect(problems('receivers:\n  a: { slack: "#a" }\n  a: { slack: "#b" }\nroutes:\n  - receivers: [a]\n')[0]).toMatch(
      /^routing\.yaml:3: .*[Uu]nique/,
    );
  });

  it('rejects an empty file, a missing routes list and a route that sends nowhere', () => {
    expect(problems('')).toEqual(['routing.yaml: expected a mapping with `receivers:` and `routes:`']);
    expect(problems('receivers: {}\n')).toEqual([expect.stringMatching(/^routing\.yaml:1: routes: is missing: list the routes/)]);
    expect(problems('receivers: { a: { slack: "#a" } }\nroutes:\n  - match: { event: refund.failed }\n')).toEqual([
      'routing.yaml:3: routes[0]: sends nowhere: give it receivers: or routes:',
    ]);
  });

  it('rejects a customer receiver on a route that cannot see refund.completed (children included)', () => {
    const yaml = [
      'receivers:',
      '  customer: { customerEmail: true }',
      'routes:',
      '  - match: { event: [refund.failed, refund.stalled] }',
      '    routes:',
      '      - receivers: [customer]',
    ].join('\n');
    expect(problems(yaml)).toEqual([
      'routing.yaml:6: routes[0].routes[0].receivers[0]: receiver "customer" emails the customer, which happens for refund.completed only, and this route cannot match refund.completed',
    ]);
  });

  it('rejects prefixed codes, and with the table given, codes it does not know', () => {
    const yaml = 'receivers: { a: { slack: "#a" } }\nroutes:\n  - match:\n      reasonCode: [DPOS_REFUND_RISK_REJECT, RISK_REJECTED]\n    receivers: [a]\n';
    expect(problems(yaml)).toEqual([
      'routing.yaml:4: routes[0].match.reasonCode[0]: write DPOS_REFUND_RISK_REJECT without its v2 prefix, as RISK_REJECT: prefixed codes are normalised before routing',
    ]);
    const table = loadResultCodeTable();
    expect(problems(yaml.replace('DPOS_REFUND_RISK_REJECT', 'RISK_REJECT'), { knownReasonCodes: table.rules.keys() })).toEqual([
      'routing.yaml:4: routes[0].match.reasonCode[1]: RISK_REJECTED is not in the result-code table (config/result-codes.yaml); a typo would silently disable this route',
    ]);
  });

  it('throws one ConfigError listing every problem, with the file path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'routing-'));
    const file = join(dir, 'routing.yaml');
    writeFileSync(file, 'receivers: { a: { slack: "#a" } }\nroutes:\n  - receivers: [b]\n  - receivers: [c]\n');
    let error: unknown;
    try {
      loadRoutingTree(file);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      `${file}:3: routes[0].receivers[0]: unknown receiver "b" (defined: a)`,
      `${file}:4: routes[1].receivers[0]: unknown receiver "c" (defined: a)`,
    ]);
    expect(() => loadRoutingTree(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml: cannot be read \(ENOENT\)/);
  });
});
