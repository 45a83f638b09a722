/**
 * The deliveries of one dispatcher pass: a stale backlog summarised per Slack channel first, then
 * the rest sent one receiver at a time, in order (Slack allows about one message a second per
 * channel, and order matters in a channel), different receivers in parallel. Customer emails,
 * each to its own address, go several at a time over the pooled SMTP connections.
 */
import type { Logger } from 'pino';
import { isInDoubt, isRetriable } from '../../domain/errors.js';
import type { BacklogCoalescer } from '../notify/coalesce-backlog.js';
import { CUSTOMER_CHANNEL } from '../notify/vocabulary.js';
import type { DeliverySender } from '../notify/send-delivery.js';
import type { ClaimOptions, OutboxEntry, RefundStore } from '../ports.js';
import type { HeldLeases } from './leases.js';
import type { DispatchStats, OutboxMarks } from './marks.js';

// Customer emails in parallel: the mailer's pool holds 5 SMTP connections.
const CUSTOMER_LANES = 5;
// The most of one receiver's backlog a summary stands for: one claim, one message.
const BACKLOG_CLAIM = 1000;

export function createDeliveryPass(deps: {
  store: RefundStore;
  send: DeliverySender;
  coalesce?: BacklogCoalescer;
  marks: OutboxMarks;
  held: HeldLeases;
  stats: DispatchStats;
  log: Logger;
  claim: () => Omit<ClaimOptions, 'limit'>;
}) {
  const { marks, held, stats, log } = deps;

  /** Sends one delivery; returns the error when the receiver failed in a way worth not repeating. */
  async function sendOne(entry: OutboxEntry): Promise<unknown> {
    try {
      await deps.send(entry);
    } catch (err) {
      await marks.failed(entry, err);
      return isRetriable(err) && !isInDoubt(err) ? err : undefined;
    }
    await marks.delivered(entry);
    return undefined;
  }

  /**
   * Summarises each receiver's stale backlog in one message; returns the deliveries left to send
   * one by one. The rest of a receiver's backlog (not due again yet) is leased here, so one
   * summary stands for all of it; what is leased and not summarised is sent with the others.
   */
  async function summariseBacklogs(deliveries: OutboxEntry[]): Promise<OutboxEntry[]> {
    const staleBefore = deps.coalesce?.staleBefore();
    if (!deps.coalesce || staleBefore === undefined) return deliveries;
    let left = deliveries;
    for (const [channel, inPass] of deps.coalesce.staleByReceiver(deliveries, staleBefore)) {
      const more = (await deps.store.claimBacklog({ ...deps.claim(), limit: BACKLOG_CLAIM, channel, createdBefore: staleBefore })).filter((e) => !held.has(e.id));
      held.hold(more.map((e) => e.id));
      left = [...left, ...more];
      const summary = deps.coalesce.summarise([...inPass, ...(deps.coalesce.staleByReceiver(more, staleBefore).get(channel) ?? [])]);
      if (!summary) continue;
      const covered = new Set(summary.covers.map((e) => e.id));
      left = left.filter((e) => !covered.has(e.id));
      try {
        await summary.send();
      } catch (err) {
        // The receiver is still down: every entry the summary stood for counts as failed with it
        // (not tried one by one in this pass), and waits for the next.
        log.warn({ err, entries: covered.size }, 'backlog summary failed; will retry');
        for (const e of summary.covers) await marks.failed(e, err);
        continue;
      }
      await marks.markSent(summary.covers);
      stats.coalesced += covered.size;
    }
    return left;
  }

  return async function deliverAll(claimed: OutboxEntry[]): Promise<void> {
    const deliveries = await summariseBacklogs(claimed);
    const byReceiver = new Map<string, OutboxEntry[]>();
    for (const e of deliveries) {
      const lane = e.channel === CUSTOMER_CHANNEL ? `${CUSTOMER_CHANNEL}:${e.id % CUSTOMER_LANES}` : e.channel;
      byReceiver.set(lane, [...(byReceiver.get(lane) ?? []), e]);
    }
    // When a receiver fails with a retriable error (it is down), the rest of its lane is not
    // tried in this pass: they count as failed with the same error, so an outage costs one
    // attempt per pass instead of one timeout per message, and a pass stays short.
    const lanes = await Promise.allSettled(
      [...byReceiver.values()].map(async (lane) => {
        let down: unknown;
        for (const e of lane) {
          if (down !== undefined) await marks.failed(e, down);
          else down = await sendOne(e);
        }
      }),
    );
    // Every lane has finished before the pass ends (its leases stop being renewed then).
    const broken = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
    if (broken) throw broken.reason;
  };
}
