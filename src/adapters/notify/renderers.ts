import type { Renderers } from '../../app/ports.js';
import { brandFor, NO_MERCHANTS, type MerchantDirectory } from '../../config/merchants.js';
import { escalationGroupContent, outageSummary, refundContent } from '../../domain/notification-content.js';
import { messageIdFor } from '../email/mailer.js';
import { renderCustomerCompleted, renderEscalationEmail } from '../email/render.js';
import type { TemplateSet } from '../email/templates.js';
import { groupMessage, outageMessage, refundMessage, reminderMessage, slackMessage } from '../slack/blocks.js';

/**
 * The Slack Block Kit and email template renderings behind the notification use cases. The
 * customer email carries the brand of the refund's merchant (config/merchants.yaml): its look,
 * and its From and Reply-To; the operations emails always come from EMAIL_FROM.
 */
export function createRenderers(templates: TemplateSet, emailFrom: string, merchants: MerchantDirectory = NO_MERCHANTS): Renderers {
  return {
    slackRefund: (subject, template, playbook) => refundMessage(subject, template, { playbook }),
    slackGroup: (group) => groupMessage(group),
    slackReminder: (subject, info) => reminderMessage(subject, info),
    slackOutage: (items, info) => outageMessage(outageSummary(items), info),
    emailRefund: (subject, template, playbook, note) => {
      const content = refundContent(subject, template, { playbook });
      return renderEscalationEmail(note ? { ...content, note } : content, templates);
    },
    emailGroup: (group) => renderEscalationEmail(escalationGroupContent(group), templates),
    customerEmail: (subject) => {
      const brand = brandFor(merchants, subject);
      const email = renderCustomerCompleted(subject, templates, { brand });
      return {
        ...email,
        ...(brand.from !== undefined ? { from: brand.from } : {}),
        ...(brand.replyTo !== undefined ? { replyTo: brand.replyTo } : {}),
      };
    },
    slackContent: (content) => slackMessage(content),
    emailContent: (content) => renderEscalationEmail(content, templates),
    messageId: (dedupeKey, from) => messageIdFor(dedupeKey, from ?? emailFrom),
  };
}
