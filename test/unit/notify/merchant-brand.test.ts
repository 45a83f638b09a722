import { describe, expect, it } from 'vitest';
import { DEFAULT_ACCENT_COLOR } from '../../../src/adapters/email/render.js';
import { loadTemplates } from '../../../src/adapters/email/templates.js';
import { createRenderers } from '../../../src/adapters/notify/renderers.js';
import { parseMerchantsFile } from '../../../src/config/merchants.js';
import { DEMO_MERCHANTS_YAML } from '../../../src/demo/merchants.js';
import type { NotificationSubject } from '../../../src/domain/routing.js';
import { completedSubject } from '../../support/subjects.js';

/**
 * The customer email in a merchant's brand (docs/notifications.md, "The merchant's brand"): the
 * renderers look the refund's merchant up and hand its brand to the templates, and its From and
 * Reply-To to the mailer; the operations emails keep EMAIL_FROM.
 */
const EMAIL_FROM = 'Platform Refunds <refunds@platform.example>';
const directory = parseMerchantsFile(
  `merchants:
  M-ACME:
    displayName: Acme & Sons
    from: '"Acme & Sons" <refunds@acme.platform.example>'
    replyTo: support@acme.example
    supportEmail: support@acme.example
    supportUrl: https://acme.example/help?a=1&b=2
    supportPhone: +1 (555) 010-0199
    logoUrl: https://cdn.acme.example/logo.png
    accentColor: '#b3261e'
  M-PLAIN:
    displayName: Plain Goods
`,
  'merchants.yaml',
).directory!;
const templates = loadTemplates();
const render = createRenderers(templates, EMAIL_FROM, directory);

function completed(merchantAccountId: string | undefined, locale = 'en'): NotificationSubject {
  return completedSubject({ merchantAccountId, customer: { email: 'jane@example.com', name: 'Jane', locale } });
}

describe('the customer email of a listed merchant', () => {
  const email = render.customerEmail(completed('M-ACME'));

  it('comes from the merchant, with its Reply-To, and a Message-ID on its domain', () => {
    expect(email.from).toBe('"Acme & Sons" <refunds@acme.platform.example>');
    expect(email.replyTo).toBe('support@acme.example');
    expect(render.messageId('R-1:customer', email.from)).toMatch(/^<[0-9a-f]{32}\.refund-notifier@acme\.platform\.example>$/);
  });

  it('names the merchant in the subject and the sign-off, shows its logo, accent and support contacts', () => {
    expect(email.subject).toBe('Your refund of $12.50 from Acme & Sons is complete');
    expect(email.html).toContain(
      '<img src="https://cdn.acme.example/logo.png" alt="Acme &amp; Sons" height="40" style="display:block;height:40px;max-width:200px;margin:0 0 24px;border:0;">',
    );
    expect(email.html).toContain('border-bottom:4px solid #b3261e;padding-bottom:12px;');
    expect(email.html).toContain('<a href="mailto:support@acme.example" style="color:#b3261e;"><bdi>support@acme.example</bdi></a>');
    expect(email.html).toContain('<a href="https://acme.example/help?a=1&amp;b=2" style="color:#b3261e;"><bdi>https://acme.example/help?a=1&amp;b=2</bdi></a>');
    expect(email.html).toContain('<bdi>+1 (555) 010-0199</bdi>');
    expect(email.html).toContain('The <bdi>Acme &amp; Sons</bdi> team');
    expect(email.html).not.toContain('reply to this email');
    expect(email.text).toContain('contact our support team and quote the refund ID:\nEmail: support@acme.example\nWeb: https://acme.example/help?a=1&b=2\nPhone: +1 (555) 010-0199\n');
    expect(email.text).toMatch(/Thank you,\nThe Acme & Sons team\n?$/);
    expect(email.text).not.toMatch(/<|mailto:/);
  });

  it('in every shipped language', () => {
    const expected: Record<string, { subject: RegExp; team: string }> = {
      de: { subject: /von Acme & Sons ist abgeschlossen$/, team: 'Ihr Team von Acme & Sons' },
      es: { subject: /en Acme & Sons se ha completado$/, team: 'El equipo de Acme & Sons' },
      fr: { subject: /par Acme & Sons est effectué$/, team: 'L’équipe Acme & Sons' },
      ja: { subject: /^【Acme & Sons】返金/, team: 'Acme & Sons チーム' },
    };
    for (const [locale, { subject, team }] of Object.entries(expected)) {
      const localized = render.customerEmail(completed('M-ACME', locale));
      expect(localized.subject, locale).toMatch(subject);
      expect(localized.text, locale).toContain(team);
      expect(localized.text, locale).toContain('support@acme.example');
      expect(localized.html, locale).toContain('<bdi>+1 (555) 010-0199</bdi>');
      expect(localized.html, locale).toContain('<img src="https://cdn.acme.example/logo.png"');
    }
  });
});

describe('fallbacks, field by field', () => {
  it('a merchant with only a name: EMAIL_FROM, no Reply-To, the default accent, no logo, "reply to this email"', () => {
    const email = render.customerEmail(completed('M-PLAIN'));
    expect(email.from).toBeUndefined();
    expect(email.replyTo).toBeUndefined();
    expect(render.messageId('R-1:customer', email.from)).toMatch(/@platform\.example>$/);
    expect(email.subject).toBe('Your refund of $12.50 from Plain Goods is complete');
    expect(email.html).toContain(`border-bottom:4px solid ${DEFAULT_ACCENT_COLOR};`);
    expect(email.html).not.toContain('<img');
    expect(email.html).toContain('reply to this email and quote the refund ID.');
    expect(email.text).toContain('The Plain Goods team');
  });

  it('an unlisted merchant, and no merchants.yaml at all: the shipped wording', () => {
    for (const email of [render.customerEmail(completed('M-OTHER')), createRenderers(templates, EMAIL_FROM).customerEmail(completed('M-ACME'))]) {
      expect(email.from).toBeUndefined();
      expect(email.replyTo).toBeUndefined();
      expect(email.subject).toBe('Your refund of $12.50 is complete');
      expect(email.html).not.toContain('<img');
      expect(email.text).toContain('reply to this email and quote the refund ID.');
      expect(email.text).toMatch(/The Refunds team\n?$/);
    }
  });

  it('the operations emails keep EMAIL_FROM', () => {
    expect(render.emailRefund({ ...completed('M-ACME'), event: 'refund.failed', status: 'FAIL', reasonCode: 'RISK_REJECT' }, 'escalation')).not.toHaveProperty('from');
    expect(render.messageId('group:1:3')).toMatch(/@platform\.example>$/);
  });
});

describe("the demo's merchants.yaml", () => {
  it('is valid and brands the sample merchant M-DEMO', () => {
    const demo = parseMerchantsFile(DEMO_MERCHANTS_YAML, 'merchants.yaml');
    expect(demo.problems).toEqual([]);
    const email = createRenderers(templates, 'Demo Shop Refunds <refunds@shop.example>', demo.directory).customerEmail(completed('M-DEMO'));
    expect(email.from).toBe('"Demo Shop" <hello@demo-shop.example>');
    expect(email.subject).toBe('Your refund of $12.50 from Demo Shop is complete');
  });
});
