import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { htmlToText } from '../../../src/adapters/email/html-text.js';
import { renderCustomerCompleted, renderEscalationEmail } from '../../../src/adapters/email/render.js';
import { escapeHtml, loadTemplates } from '../../../src/adapters/email/templates.js';
import { escalationGroupContent, refundContent } from '../../../src/domain/notification-content.js';
import type { NotificationSubject } from '../../../src/domain/routing.js';
import { localisedSubject } from '../../support/subjects.js';

/**
 * The plain-text part reads well on its own (issue 15, item 4; docs/notifications.md): a reader
 * whose client shows text, or a spam filter comparing both parts, sees the same email as in HTML,
 * with no markup left over, and with every link written out.
 */
const templates = loadTemplates();
const TAG = /<\/?[a-z][a-z0-9]*(?:\s[^<>]*)?\/?>/i;
const ENTITY = /&(?:#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);/i;

function completed(locale: string, overrides: Partial<NotificationSubject> = {}): NotificationSubject {
  return localisedSubject(locale, {
    refundAmount: { currency: 'KWD', value: '1250500' },
    customer: { email: 'c@example.com', name: 'Ann "Annie" O\'Hara & Co', locale },
    metadata: { orderId: 'ORD-7<1>' },
    ...overrides,
  });
}

/** Every URL an HTML part links to (mailto: as its address). */
function links(html: string): string[] {
  return [...html.matchAll(/<a\s[^>]*href="([^"]+)"/gi)].map((m) => m[1]!.replace(/&amp;/g, '&').replace(/^mailto:/, ''));
}

describe('the text part of every shipped template', () => {
  const locales = templates.locales('customer-completed');

  it.each(locales)('customer-completed.%s: no markup, values verbatim, the amount, ids and date as the HTML shows them', (locale) => {
    for (const subject of [completed(locale), completed(locale, { metadata: {}, customer: { locale } })]) {
      const email = renderCustomerCompleted(subject, templates);
      expect(email.text, email.text).not.toMatch(TAG);
      expect(email.text).not.toMatch(ENTITY);
      expect(email.text).not.toContain('{{');
      const amount = /1[\s\u00a0\u202f.,']?250[.,]500/.exec(email.html)?.[0];
      expect(amount, `amount in ${locale} HTML`).toBeDefined();
      const shown = [amount!, 'R-2025-0042', subject.metadata?.orderId ? 'ORD-7<1>' : 'P-889'];
      if (subject.customer?.name) shown.push(subject.customer.name);
      for (const value of shown) {
        expect(email.text, `${value} in the ${locale} text`).toContain(value);
        expect(email.html, `${value} in the ${locale} HTML`).toContain(escapeHtml(value));
      }
      // The date as the HTML part writes it (long form, in the locale).
      const date = new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone: 'UTC' }).format(Date.UTC(2025, 2, 4));
      expect(email.text).toContain(date);
      expect(email.html).toContain(escapeHtml(date));
      for (const url of links(email.html)) expect(email.text, `link ${url} written out`).toContain(url);
    }
  });

  it('escalation.en: no markup, the facts, playbook and list as in HTML', () => {
    const subject = { ...completed('en'), event: 'refund.failed' as const, status: 'FAIL' as const, resultCode: 'RISK_REJECT' };
    const emails = [
      renderEscalationEmail(refundContent(subject, 'escalation', { playbook: 'Check the "risk" rules & retry' }), templates),
      renderEscalationEmail(
        escalationGroupContent({
          key: { template: 'escalation', parts: [{ field: 'reasonCode', value: 'RISK_REJECT' }] },
          playbook: 'Ask Antom.',
          refunds: [1, 2, 3].map((n) => ({ refundKey: `R-${n}`, paymentId: `P-${n}`, refundAmount: { currency: 'USD', value: '100' }, detectedAt: Date.UTC(2025, 2, 4, 10, n) })),
          windowStart: Date.UTC(2025, 2, 4, 10, 1),
          windowEnd: Date.UTC(2025, 2, 4, 10, 3),
        }),
        templates,
      ),
    ];
    for (const email of emails) {
      expect(email.text).not.toMatch(TAG);
      expect(email.text).not.toMatch(ENTITY);
      for (const url of links(email.html)) expect(email.text).toContain(url);
    }
    expect(emails[0]!.text).toContain('What to do: Check the "risk" rules & retry');
    expect(emails[0]!.html).toContain('Check the &quot;risk&quot; rules &amp; retry');
    expect(emails[1]!.text).toContain('Total: $3.00');
  });
});

describe('a template without .txt', () => {
  it('gets its text part from the rendered HTML: structure kept, entities decoded, links written out, head and images left out', () => {
    const configDir = mkdtempSync(join(tmpdir(), 'templates-'));
    const dir = join(configDir, 'templates');
    mkdirSync(dir);
    writeFileSync(join(dir, 'customer-completed.it.subject.txt'), 'Rimborso completato');
    writeFileSync(
      join(dir, 'customer-completed.it.html'),
      [
        '<!doctype html><html lang="it"><head><meta charset="utf-8"><title>Rimborso</title><style>p { color: #333; }</style></head>',
        '<body><table role="presentation" width="100%"><tr><td>',
        '<img src="https://cdn.example/logo.png" alt="Acme"><img src="https://cdn.example/spacer.gif" alt="">',
        '<h1>Rimborso completato</h1>',
        '<p>Ciao {{name}},<br>il rimborso di <strong>{{amount}}</strong> è stato completato il {{date}}.</p>',
        '<table role="presentation"><tr><td>ID rimborso</td><td>{{refundId}}</td></tr><tr><td>Ordine</td><td>{{orderRef}}</td></tr></table>',
        '<ul><li>Può volerci qualche giorno</li><li>Domande? <a href="https://help.example/rimborsi?lang=it&amp;ref={{refundId}}">Centro assistenza</a></li></ul>',
        '<p>Scrivici a <a href="mailto:aiuto@example.com">aiuto@example.com</a>.</p>',
        '<script>track()</script>',
        '</td></tr></table></body></html>',
      ].join('\n'),
    );
    const set = loadTemplates({ configDir });
    expect(set.locales('customer-completed')).toContain('it');
    const email = renderCustomerCompleted(completed('it-IT', { customer: { name: 'Lia & Bo', locale: 'it-IT' } }), set);
    expect(email.text).toBe(
      [
        'Acme',
        '',
        'Rimborso completato',
        '',
        'Ciao Lia & Bo,',
        // Italian groups digits from five on (CLDR): 1250,500, as the HTML part shows it.
        'il rimborso di 1250,500\u00a0KWD è stato completato il 4 marzo 2025.',
        '',
        'ID rimborso   R-2025-0042',
        'Ordine        ORD-7<1>',
        '',
        '- Può volerci qualche giorno',
        '- Domande? Centro assistenza [https://help.example/rimborsi?lang=it&ref=R-2025-0042]',
        '',
        'Scrivici a aiuto@example.com.',
        '',
      ].join('\n'),
    );
  });

  it('derives plain text from HTML a person would write by hand too', () => {
    expect(htmlToText('<p>A&amp;B &lt;tag&gt; caf&eacute;</p><p>one<br/>two</p><ol><li>first</li><li>second</li></ol>')).toBe('A&B <tag> café\n\none\ntwo\n\n 1. first\n 2. second\n');
  });
});
