/**
 * From a notice (what happened) to its deliveries (who is told what), by routing.yaml. This is the
 * one routing path: a decision's notices are routed here when the decision is written, and their
 * deliveries go into the outbox in the same transaction (src/app/outbox-entries.ts). A notice raised
 * once whichever refund raises it (an integration fault per code per hour) routes under its scope,
 * so its deliveries' dedupe keys keep it single. Notices an earlier version left in the outbox are
 * routed here too, by the dispatcher.
 */
import type { Notice } from '../../domain/notice.js';
import { routeNotification, type RoutingContext, type RoutingTree } from '../../domain/routing.js';
import type { OutboxEntryInput } from '../ports.js';
import { deliveryEntry } from './vocabulary.js';

export type DeliveryPlanner = (notice: Notice, now: number) => OutboxEntryInput[];

export function createDeliveryPlanner(deps: {
  tree: RoutingTree;
  ctx: RoutingContext;
  /** Transports that are off (no Slack token or webhook, no SMTP_URL) are left out here rather than failing later. */
  slackEnabled: boolean;
  emailEnabled: boolean;
}): DeliveryPlanner {
  return (notice, now) => {
    const { playbook, scope, ...subject } = notice;
    const deliveries = routeNotification(subject, deps.tree, deps.ctx, scope).filter((d) =>
      d.receiver.type === 'slack' ? deps.slackEnabled : deps.emailEnabled,
    );
    // A notice's own playbook (a contradiction, an amount mismatch) stands where the route has none.
    return deliveries.map((d) => deliveryEntry(playbook && !d.playbook ? { ...d, playbook } : d, subject, now));
  };
}
