/**
 * bench/notify, part 2: how many Slack API calls 1,000 escalations with the same reason code
 * inside five minutes cost, through the service's own notification layer (routing, the outbox
 * sender, the group flusher) against the local Slack API stub, on a simulated clock (five minutes
 * take a second). Two arrival patterns: all at once (a merchant balance runs out) and spread
 * evenly over the five minutes.
 *
 *   npx tsx bench/notify-grouping.ts [--escalations 1000]
 *
 * Also run at the end of `npx tsx bench/notify.ts`.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGroupFlusher } from '../src/app/notify/flush-groups.js';
import { createDeliverySender } from '../src/app/notify/send-delivery.js';
import type { NotifySettings } from '../src/app/notify/vocabulary.js';
import type { OutboxEntry } from '../src/app/ports.js';
import { loadTemplates } from '../src/adapters/email/templates.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { createRenderers } from '../src/adapters/notify/renderers.js';
import { createSlackNotifier } from '../src/adapters/slack/client.js';
import { createSqliteStore } from '../src/adapters/store/sqlite.js';
import { loadResultCodeTable } from '../src/config/result-codes.js';
import { SHIPPED_ROUTING_FILE, loadRoutingTree } from '../src/config/routing.js';
import { playbookLookup, receiverKey, routeNotification, type NotificationSubject } from '../src/domain/routing.js';
import { startSlackStub } from '../src/devtools/slack-stub.js';

const MINUTE = 60_000;

export async function slackCallsForEscalations(count: number, pattern: 'burst' | 'spread'): Promise<{ calls: number; posts: number; updates: number; finalShows: number }> {
  const slack = await startSlackStub({ token: 'xoxb-bench' });
  const store = createSqliteStore({ path: ':memory:' });
  await store.migrate();
  const logger = createLogger({ level: 'silent' });
  let now = Date.parse('2026-11-25T10:00:00Z');
  const clock = { now: () => now };
  const settings: NotifySettings = {
    groupWindowMs: 5 * MINUTE,
    groupUpdateIntervalMs: 30_000,
    reminderIntervalMs: 12 * 60 * MINUTE,
    staleAfterMs: 10 * MINUTE,
    fallbackAfterMs: 5 * MINUTE,
    customerGiveUpAfterMs: 72 * 60 * MINUTE,
    giveUpAfterMs: 24 * 60 * MINUTE,
    escalationEmailTo: [],
    escalationChannel: '#refund-escalations',
  };
  const table = loadResultCodeTable();
  const tree = loadRoutingTree(SHIPPED_ROUTING_FILE, { knownReasonCodes: table.rules.keys() });
  const render = createRenderers(loadTemplates(), 'Refunds <refunds@example.com>');
  const notifier = createSlackNotifier({ botToken: 'xoxb-bench', apiUrl: slack.url }, { logger });
  const deps = { store, owner: 'bench', slack: notifier, render, settings, clock, logger };
  const deliver = createDeliverySender(deps);
  const flush = createGroupFlusher(deps);
  const ctx = { customerEmails: true, opsChannel: '#refunds', escalationChannel: '#refund-escalations', escalationEmailTo: [], playbook: playbookLookup(table) };

  const start = now;
  const arrivals = Array.from({ length: count }, (_, i) => (pattern === 'burst' ? start : start + Math.floor((i * 5 * MINUTE) / count)));
  let id = 0;
  let nextFlush = start;
  for (const at of [...arrivals, start + 6 * MINUTE]) {
    // The flusher runs every 5 s of (simulated) time, as the service's job does.
    while (nextFlush <= at) {
      now = nextFlush;
      await flush();
      nextFlush += 5_000;
    }
    now = at;
    if (id >= count) break;
    const subject: NotificationSubject = {
      event: 'refund.failed',
      refundKey: `R-${id}`,
      refundId: `R-${id}`,
      paymentId: `P-${id}`,
      status: 'FAIL',
      reasonCode: 'MERCHANT_BALANCE_NOT_ENOUGH',
      refundAmount: { currency: 'USD', value: String(1000 + id) },
      escalate: true,
      detectedAt: now,
    };
    id += 1;
    // Only the escalation channel: the ops channel's one line per refund is not grouped by design.
    for (const d of routeNotification(subject, tree, ctx).filter((x) => x.receiver.type === 'slack' && x.group)) {
      const entry: OutboxEntry = {
        id,
        dedupeKey: `delivery:${d.dedupeKey}`,
        refundKey: subject.refundKey,
        kind: 'delivery',
        channel: receiverKey(d.receiver),
        payload: { delivery: d, subject },
        status: 'pending',
        attempts: 1,
        availableAt: now,
        createdAt: now,
      };
      await deliver(entry);
    }
  }
  const calls = slack.calls.filter((c) => c.ok);
  const final = slack.messages().find((m) => JSON.stringify(m.blocks ?? []).includes('MERCHANT_BALANCE_NOT_ENOUGH'));
  const shows = Number(/(\d[\d,]*) refunds/.exec(`${final?.text ?? ''} ${JSON.stringify(final?.blocks ?? [])}`)?.[1]?.replace(/,/g, '') ?? 0);
  await store.close();
  await slack.close();
  return {
    calls: calls.length,
    posts: calls.filter((c) => c.method === 'chat.postMessage').length,
    updates: calls.filter((c) => c.method === 'chat.update').length,
    finalShows: shows,
  };
}

export async function printGroupingFigures(count: number): Promise<void> {
  console.log('');
  console.log(`Slack calls for ${count} escalations with the same code inside five minutes (window 5m, updates at most every 30s):`);
  console.log('| arrival | Slack calls | chat.postMessage | chat.update | the message finally shows |');
  console.log('|---|---:|---:|---:|---:|');
  for (const pattern of ['burst', 'spread'] as const) {
    const r = await slackCallsForEscalations(count, pattern);
    console.log(`| ${pattern === 'burst' ? 'all at once' : 'spread over 5 min'} | ${r.calls} | ${r.posts} | ${r.updates} | ${r.finalShows} refunds |`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { escalations: { type: 'string', default: '1000' } } });
  await printGroupingFigures(Number(values.escalations));
}
