import { describe, expect, it } from 'vitest';
import { loadResultCodeTable } from '../../../src/config/result-codes.js';
import { SHIPPED_ROUTING_FILE, loadRoutingTree, parseRoutingFile } from '../../../src/config/routing.js';
import {
  groupIdentity,
  groupKeyFromLegacy,
  receiverKey,
  playbookLookup,
  routeNotification,
  type Delivery,
  type NotificationSubject,
  type RoutingContext,
  type RoutingTree,
} from '../../../src/domain/routing.js';

const table = loadResultCodeTable();
const shipped = loadRoutingTree(SHIPPED_ROUTING_FILE, { knownReasonCodes: table.rules.keys() });

const ctx: RoutingContext = {
  customerEmails: true,
  opsChannel: '#refunds',
  escalationChannel: '#refund-escalations',
  escalationEmailTo: ['oncall@example.com', 'finance@example.com'],
  playbook: playbookLookup(table),
};

function subject(overrides: Partial<NotificationSubject> = {}): NotificationSubject {
  return {
    event: 'refund.completed',
    refundKey: 'R-1',
    refundId: 'R-1',
    paymentId: 'P-1',
    status: 'SUCCESS',
    refundAmount: { currency: 'USD', value: '1250' },
    customer: { email: 'jane@example.com', name: 'Jane', locale: 'en' },
    detectedAt: 1_732_550_000_000,
    ...overrides,
  };
}

function failed(reasonCode: string, escalate?: boolean): NotificationSubject {
  const rule = table.rules.get(reasonCode);
  return subject({ event: 'refund.failed', status: 'FAIL', reasonCode, escalate: escalate ?? rule?.escalate ?? false, customer: { email: 'jane@example.com' } });
}

/** A compact view: receiver/template/group. */
function shape(deliveries: Delivery[]): string[] {
  return deliveries.map((d) => {
    const to = d.receiver.type === 'slack' ? `slack ${d.receiver.channel}` : d.receiver.type === 'email' ? `email ${d.receiver.to.join(',')}` : 'customer';
    return `${to} ${d.template}${d.group ? ` [${groupIdentity(d.group)}]` : ''}`;
  });
}

function tree(yaml: string): RoutingTree {
  const parsed = parseRoutingFile(yaml, 'routing.yaml');
  if (!parsed.tree) throw new Error(parsed.problems.join('\n'));
  return parsed.tree;
}

describe('the shipped routing.yaml', () => {
  it('sends a completed refund to the customer and one line to the ops channel', () => {
    const deliveries = routeNotification(subject(), shipped, ctx);
    expect(shape(deliveries)).toEqual(['customer customer-completed', 'slack #refunds ops-line']);
    expect(deliveries[0]!.dedupeKey).toBe('R-1:customer:customer-completed');
    expect(deliveries[1]!.dedupeKey).toBe('R-1:slack:#refunds:ops-line');
    expect(deliveries[0]!.route).toBe('completed');
  });

  it('does not email the customer without an address, or with CUSTOMER_EMAILS off', () => {
    expect(shape(routeNotification(subject({ customer: { name: 'Jane' } }), shipped, ctx))).toEqual(['slack #refunds ops-line']);
    expect(shape(routeNotification(subject({ customer: undefined }), shipped, ctx))).toEqual(['slack #refunds ops-line']);
    expect(shape(routeNotification(subject(), shipped, { ...ctx, customerEmails: false }))).toEqual(['slack #refunds ops-line']);
  });

  it('sends a failure without an escalation code to the ops channel only (never the customer)', () => {
    const deliveries = routeNotification(failed('ORDER_IS_CANCELED'), shipped, ctx);
    expect(shape(deliveries)).toEqual(['slack #refunds ops-line']);
    expect(deliveries[0]!.playbook).toBe(table.rules.get('ORDER_IS_CANCELED')!.playbook);
  });

  it.each(['MERCHANT_BALANCE_NOT_ENOUGH', 'RISK_REJECT', 'REFUND_WINDOW_EXCEED', 'REFUND_AMOUNT_EXCEED', 'MULTIPLE_REFUNDS_NOT_SUPPORTED'])(
    'escalates %s to the escalation channel and ESCALATION_EMAIL_TO with its playbook, and still tells ops',
    (code) => {
      const deliveries = routeNotification(failed(code), shipped, ctx);
      expect(shape(deliveries)).toEqual([
        `slack #refund-escalations escalation [escalation:${code}]`,
        `email finance@example.com,oncall@example.com escalation [escalation:${code}]`,
        'slack #refunds ops-line',
      ]);
      const playbook = table.rules.get(code)!.playbook;
      expect(playbook).toBeTruthy();
      for (const d of deliveries) expect(d.playbook).toBe(playbook);
      expect(deliveries[1]!.dedupeKey).toBe('R-1:email:finance@example.com,oncall@example.com:escalation');
    },
  );

  it('escalates any other code the result-code table flags, once even when both escalation routes match', () => {
    // The customer still has to be refunded another way: escalated, with a playbook.
    expect(table.rules.get('REFUND_WINDOW_EXCEED')?.escalate).toBe(true);
    expect(shape(routeNotification(failed('REFUND_WINDOW_EXCEED'), shipped, ctx))).toEqual([
      'slack #refund-escalations escalation [escalation:REFUND_WINDOW_EXCEED]',
      'email finance@example.com,oncall@example.com escalation [escalation:REFUND_WINDOW_EXCEED]',
      'slack #refunds ops-line',
    ]);
    // RISK_REJECT is named by the first route and flagged by the table: still one of each.
    expect(routeNotification(failed('RISK_REJECT', true), shipped, ctx)).toHaveLength(3);
  });

  it('sends no escalation email when ESCALATION_EMAIL_TO is empty', () => {
    expect(shape(routeNotification(failed('RISK_REJECT'), shipped, { ...ctx, escalationEmailTo: [] }))).toEqual([
      'slack #refund-escalations escalation [escalation:RISK_REJECT]',
      'slack #refunds ops-line',
    ]);
  });

  it('sends a stalled refund to the escalation channel, one dedupe key per stage', () => {
    const first = routeNotification(subject({ event: 'refund.stalled', status: 'PENDING', stage: 1 }), shipped, ctx);
    expect(shape(first)).toEqual(['slack #refund-escalations stalled']);
    expect(first[0]!.dedupeKey).toBe('R-1:slack:#refund-escalations:stalled:1');
    const second = routeNotification(subject({ event: 'refund.stalled', status: 'PENDING', stage: 2 }), shipped, ctx);
    expect(second[0]!.dedupeKey).toBe('R-1:slack:#refund-escalations:stalled:2');
  });

  it('sends an integration fault to the escalation channel, grouped by code, with its playbook', () => {
    const deliveries = routeNotification(subject({ event: 'integration.fault', reasonCode: 'KEY_NOT_FOUND', status: undefined }), shipped, ctx);
    expect(shape(deliveries)).toEqual(['slack #refund-escalations integration-fault [integration-fault:KEY_NOT_FOUND]']);
    expect(deliveries[0]!.playbook).toBe(table.rules.get('KEY_NOT_FOUND')!.playbook);
  });

  it('gives the same deliveries, in the same order, every time (deterministic dedupe keys)', () => {
    const a = routeNotification(failed('RISK_REJECT'), shipped, ctx);
    const b = routeNotification(failed('RISK_REJECT'), shipped, { ...ctx, escalationEmailTo: ['finance@example.com', 'oncall@example.com'] });
    expect(a.map((d) => d.dedupeKey)).toEqual(b.map((d) => d.dedupeKey));
  });
});

describe('group keys and identities are structure', () => {
  it('keeps each groupBy field with its value, and the same one-line identity as before', () => {
    const [d] = routeNotification(subject({ event: 'integration.fault', reasonCode: 'KEY_NOT_FOUND', status: undefined }), shipped, ctx);
    expect(d!.group).toEqual({ template: 'integration-fault', parts: [{ field: 'reasonCode', value: 'KEY_NOT_FOUND' }] });
    expect(groupIdentity(d!.group!)).toBe('integration-fault:KEY_NOT_FOUND');
    expect(receiverKey(d!.receiver)).toBe('slack:#refund-escalations');
    expect(receiverKey({ type: 'email', to: ['a@example.com', 'b@example.com'] })).toBe('email:a@example.com,b@example.com');
    expect(receiverKey({ type: 'customer-email' })).toBe('customer');
  });

  it('reads a key that an earlier version wrote as text, without inventing field names', () => {
    expect(groupKeyFromLegacy('escalation:RISK_REJECT:USD')).toEqual({ template: 'escalation', parts: [{ value: 'RISK_REJECT' }, { value: 'USD' }] });
  });

  it('routes an alert raised once whichever refund raises it under its own identity', () => {
    const fault = subject({ event: 'integration.fault', reasonCode: 'KEY_NOT_FOUND', status: undefined });
    const byRefund = routeNotification(fault, shipped, ctx);
    const scoped = routeNotification({ ...fault, refundKey: 'R-2' }, shipped, ctx, 'integration-fault:KEY_NOT_FOUND:480000');
    expect(byRefund.map((d) => d.dedupeKey)).toEqual(['R-1:slack:#refund-escalations:integration-fault']);
    // Another refund raising the same alert in the same hour gets the same keys: written once.
    expect(scoped.map((d) => d.dedupeKey)).toEqual(['integration-fault:KEY_NOT_FOUND:480000:slack:#refund-escalations:integration-fault']);
  });
});

describe('routing semantics', () => {
  const receivers = `
receivers:
  a: { slack: "#a" }
  b: { slack: "#b" }
  c: { slack: "#c" }
  ops: { slack: $SLACK_OPS_CHANNEL }
  mail: { email: [$ESCALATION_EMAIL_TO, boss@example.com] }
`;

  it('stops at the first match unless continue is set', () => {
    const t = tree(`${receivers}
routes:
  - match: { event: refund.completed }
    receivers: [a]
  - match: { event: refund.completed }
    receivers: [b]
`);
    expect(shape(routeNotification(subject(), t, ctx))).toEqual(['slack #a ops-line']);
    const t2 = tree(`${receivers}
routes:
  - match: { event: refund.completed }
    receivers: [a]
    continue: true
  - match: { event: refund.completed }
    receivers: [b]
  - match: { event: refund.completed }
    receivers: [c]
`);
    expect(shape(routeNotification(subject(), t2, ctx))).toEqual(['slack #a ops-line', 'slack #b ops-line']);
  });

  it('hands a subject to child routes, and uses the parent receivers only when no child matches', () => {
    const t = tree(`${receivers}
routes:
  - match: { event: refund.failed }
    receivers: [a]
    template: escalation
    groupBy: reasonCode
    routes:
      - name: risky
        match: { reasonCode: RISK_REJECT }
        receivers: [b]
      - match: { currency: JPY }
        receivers: [c]
        template: ops-line
`);
    expect(shape(routeNotification(failed('RISK_REJECT'), t, ctx))).toEqual(['slack #b escalation [escalation:RISK_REJECT]']);
    expect(routeNotification(failed('RISK_REJECT'), t, ctx)[0]!.route).toBe('risky');
    expect(shape(routeNotification({ ...failed('PROCESS_FAIL'), refundAmount: { currency: 'JPY', value: '100' } }, t, ctx))).toEqual([
      'slack #c ops-line [ops-line:PROCESS_FAIL]',
    ]);
    expect(shape(routeNotification(failed('PROCESS_FAIL'), t, ctx))).toEqual(['slack #a escalation [escalation:PROCESS_FAIL]']);
    expect(routeNotification(subject(), t, ctx)).toEqual([]);
  });

  it('matches on every matcher, and on all of them together', () => {
    const t = tree(`${receivers}
routes:
  - name: big-usd-card
    match:
      event: [refund.completed, refund.failed]
      status: [success, FAIL]
      currency: usd
      amountAbove: { currency: USD, value: 100000 }
      merchantAccountId: [M-1, 2188120000000001]
      paymentMethodType: card
    receivers: [a]
  - name: not-escalated
    match: { escalate: false, event: refund.failed }
    receivers: [b]
`);
    const big = { refundAmount: { currency: 'USD', value: '100001' }, merchantAccountId: 'M-1', paymentMethodType: 'CARD' };
    expect(shape(routeNotification(subject(big), t, ctx))).toEqual(['slack #a ops-line']);
    expect(shape(routeNotification(subject({ ...big, merchantAccountId: '2188120000000001' }), t, ctx))).toEqual(['slack #a ops-line']);
    // amountAbove is strict and compares only the same currency.
    expect(routeNotification(subject({ ...big, refundAmount: { currency: 'USD', value: '100000' } }), t, ctx)).toEqual([]);
    expect(routeNotification(subject({ ...big, refundAmount: { currency: 'EUR', value: '900000' } }), t, ctx)).toEqual([]);
    expect(routeNotification(subject({ ...big, refundAmount: undefined }), t, ctx)).toEqual([]);
    expect(routeNotification(subject({ ...big, merchantAccountId: 'M-2' }), t, ctx)).toEqual([]);
    expect(routeNotification(subject({ ...big, paymentMethodType: 'ALIPAY_CN' }), t, ctx)).toEqual([]);
    expect(routeNotification(subject({ ...big, status: 'PENDING' }), t, ctx)).toEqual([]);
    // escalate: false matches an absent flag too.
    expect(shape(routeNotification({ ...failed('ORDER_IS_CANCELED'), escalate: undefined }, t, ctx))).toEqual(['slack #b ops-line']);
    expect(routeNotification(failed('RISK_REJECT', true), t, ctx)).toEqual([]);
  });

  it('resolves receiver variables from the context, literal addresses too, and skips empty ones', () => {
    const t = tree(`${receivers}
routes:
  - receivers: [ops, mail]
`);
    expect(shape(routeNotification(subject(), t, ctx))).toEqual([
      'slack #refunds ops-line',
      'email boss@example.com,finance@example.com,oncall@example.com ops-line',
    ]);
    expect(shape(routeNotification(subject(), t, { ...ctx, escalationEmailTo: [] }))).toEqual(['slack #refunds ops-line', 'email boss@example.com ops-line']);
  });

  it('lets a route override the playbook line of the table', () => {
    const t = tree(`${receivers}
routes:
  - match: { event: refund.failed }
    receivers: [a]
    playbook: Call the finance desk first.
`);
    expect(routeNotification(failed('RISK_REJECT'), t, ctx)[0]!.playbook).toBe('Call the finance desk first.');
  });

  it('sends the customer email only for refund.completed', () => {
    const t = tree(`
receivers:
  customer: { customerEmail: true }
  a: { slack: "#a" }
routes:
  - receivers: [customer, a]
`);
    expect(shape(routeNotification(failed('RISK_REJECT'), t, ctx))).toEqual(['slack #a ops-line']);
    expect(shape(routeNotification(subject(), t, ctx))).toEqual(['customer customer-completed', 'slack #a ops-line']);
  });
});
