import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderCustomerCompleted, renderEscalationEmail } from '../../../src/adapters/email/render.js';
import { SHIPPED_TEMPLATES_DIR, escapeHtml, loadTemplates, localeChain, oneLine, parseTemplate, renderNodes } from '../../../src/adapters/email/templates.js';
import { ConfigError } from '../../../src/domain/errors.js';
import { escalationGroupContent, refundContent } from '../../../src/domain/notification-content.js';
import type { NotificationSubject } from '../../../src/domain/routing.js';

const templates = loadTemplates();
const T0 = Date.UTC(2024, 10, 25, 16, 0, 0);

function completed(overrides: Partial<NotificationSubject> = {}): NotificationSubject {
  return {
    event: 'refund.completed',
    refundKey: 'R-1',
    refundId: 'R-1',
    paymentId: 'P-1',
    status: 'SUCCESS',
    refundAmount: { currency: 'USD', value: '1250' },
    customer: { email: 'jane@example.com', name: 'Jane', locale: 'en-US' },
    refundTime: '2024-11-25T16:00:00Z',
    detectedAt: T0,
    ...overrides,
  };
}

function render(source: string, scope: Record<string, unknown>, escape: (v: string) => string = (v) => v): string {
  const parsed = parseTemplate(source, 't');
  expect(parsed.problems).toEqual([]);
  return renderNodes(parsed.nodes, [scope as never], escape);
}

describe('the template language', () => {
  it('substitutes, escapes per medium, and handles sections, inverted sections and lists', () => {
    expect(render('Hi {{ name }}!', { name: '<b>' }, escapeHtml)).toBe('Hi &lt;b&gt;!');
    expect(render('{{#a}}yes {{a}}{{/a}}{{^a}}no{{/a}}', { a: 'x' })).toBe('yes x');
    expect(render('{{#a}}yes{{/a}}{{^a}}no{{/a}}', { a: '' })).toBe('no');
    expect(render('{{#list}}[{{label}}={{value}}]{{/list}}', { list: [{ label: 'a', value: 1 }, { label: 'b', value: 2 }] })).toBe('[a=1][b=2]');
    expect(render('{{#items}}<{{.}}>{{/items}}{{^items}}none{{/items}}', { items: [] })).toBe('none');
    expect(render('{{#items}}<{{.}}>{{/items}}', { items: ['x', 'y'] })).toBe('<x><y>');
    // Inner scopes see outer values.
    expect(render('{{#rows}}{{name}}:{{v}} {{/rows}}', { name: 'n', rows: [{ v: 1 }, { v: 2 }] })).toBe('n:1 n:2 ');
    expect(render('a{{! a comment }}b', {})).toBe('ab');
  });

  it('drops lines holding only a section tag, so plain text keeps its shape', () => {
    const source = 'Hello\n{{#a}}\nA is {{a}}\n{{/a}}\n{{^a}}\nno A\n{{/a}}\nBye\n';
    expect(render(source, { a: '1' })).toBe('Hello\nA is 1\nBye\n');
    expect(render(source, {})).toBe('Hello\nno A\nBye\n');
  });

  it('reports malformed templates with the file and line', () => {
    const allowed = new Set(['name']);
    expect(parseTemplate('line one\n{{ nmae }}', 'x.txt', allowed).problems).toEqual([
      'x.txt:2: unknown variable "nmae" (this template may use: name)',
    ]);
    expect(parseTemplate('{{#name}}\n\n{{/nam}}', 'x.txt', allowed).problems).toEqual([
      'x.txt:3: unknown variable "nam" (this template may use: name)',
      'x.txt:3: {{/nam}} closes {{#name}} opened on line 1',
    ]);
    expect(parseTemplate('a\n{{#name}}b', 'x.txt', allowed).problems).toEqual(['x.txt:2: {{#name}} is never closed']);
    expect(parseTemplate('{{ name', 'x.txt', allowed).problems).toEqual(['x.txt:1: "{{" is never closed by "}}"']);
    expect(parseTemplate('{{ a b }}', 'x.txt').problems[0]).toMatch(/^x\.txt:1: "\{\{a b\}\}" is not a tag/);
  });

  it('flattens subject values to one line (no header injection)', () => {
    expect(oneLine('Refund\r\nBcc: victim@example.com')).toBe('Refund Bcc: victim@example.com');
    expect(oneLine('a\u2028b\u0000c')).toBe('a bc');
  });
});

describe('locale resolution', () => {
  it('walks from the most specific tag to English', () => {
    expect(localeChain('pt-BR')).toEqual(['pt-BR', 'pt', 'en']);
    expect(localeChain('pt_br')).toEqual(['pt-BR', 'pt', 'en']);
    expect(localeChain('zh-Hant-TW')).toEqual(['zh-Hant-TW', 'zh-TW', 'zh-Hant', 'zh', 'en']);
    expect(localeChain('en-GB')).toEqual(['en-GB', 'en']);
    expect(localeChain('de-DE-u-co-phonebk')).toEqual(['de-DE', 'de', 'en']);
    expect(localeChain('not a locale')).toEqual(['en']);
    expect(localeChain(undefined)).toEqual(['en']);
  });

  it('ships the customer email in English and at least two more languages, the escalation in English', () => {
    expect(templates.locales('customer-completed')).toEqual(['ar', 'de', 'en', 'es', 'fr', 'id', 'ja', 'ko', 'ms', 'pt-BR', 'th', 'vi', 'zh-CN', 'zh-TW']);
    expect(templates.locales('escalation')).toEqual(['en']);
    expect(templates.resolveLocale('customer-completed', 'fr-CA')).toBe('fr');
    expect(templates.resolveLocale('customer-completed', 'pt-BR')).toBe('pt-BR');
    expect(templates.resolveLocale('customer-completed', 'pt-PT')).toBe('en');
    expect(templates.resolveLocale('customer-completed', undefined)).toBe('en');
  });
});

describe('the customer "refund completed" email', () => {
  it('says the refund is complete, with refund id, payment id, amount and date', () => {
    const email = renderCustomerCompleted(completed(), templates);
    expect(email.locale).toBe('en');
    expect(email.subject).toBe('Your refund of $12.50 is complete');
    expect(email.text).toContain('Hello Jane,');
    expect(email.text).toContain('your refund of $12.50 was completed on November 25, 2024.');
    expect(email.text).toContain('Refund ID: R-1');
    expect(email.text).toContain('Payment ID: P-1');
    expect(email.html).toContain('<strong><bdi class="amount">$12.50</bdi></strong>');
    expect(email.html).toContain('<html lang="en">');
    expect(email.text).not.toContain('{{');
    expect(email.html).not.toContain('{{');
  });

  it('HTML-escapes a hostile name in the HTML part and keeps it verbatim in the text part', () => {
    const name = '<script>alert("x")</script> & Co';
    const email = renderCustomerCompleted(completed({ customer: { name, locale: 'en' } }), templates);
    expect(email.html).toContain('Hello <bdi>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co</bdi>,');
    expect(email.html).not.toContain('<script>');
    expect(email.text).toContain(`Hello ${name},`);
  });

  it('escapes every event value in HTML (ids, order reference)', () => {
    const email = renderCustomerCompleted(
      completed({ refundId: 'R-<img src=x onerror=alert(1)>', paymentId: 'P-"quoted"', metadata: { orderId: "O'<b>" } }),
      templates,
    );
    expect(email.html).toContain('R-&lt;img src=x onerror=alert(1)&gt;');
    expect(email.html).toContain('O&#39;&lt;b&gt;');
    expect(email.html).not.toMatch(/<img|<b>/);
    // An order reference replaces the payment id for the customer.
    expect(email.text).toContain("Order: O'<b>");
    expect(email.text).not.toContain('Payment ID');
  });

  it('keeps a hostile value from adding headers through the subject', () => {
    const email = renderCustomerCompleted(completed({ refundAmount: { currency: 'USD\r\nBcc: x@evil.example', value: '1' } }), templates);
    expect(email.subject).not.toMatch(/[\r\n]/);
  });

  it('greets without a name, and leaves the amount out when the event has none', () => {
    const email = renderCustomerCompleted(completed({ customer: { locale: 'en' }, refundAmount: undefined }), templates);
    expect(email.text.split('\n').slice(0, 3)).toEqual(['Hello,', '', 'Good news: your refund was completed on November 25, 2024.']);
    expect(email.subject).toBe('Your refund is complete');
  });

  it('speaks Japanese with a zero-decimal amount (JPY)', () => {
    const email = renderCustomerCompleted(completed({ customer: { name: '山田', locale: 'ja-JP' }, refundAmount: { currency: 'JPY', value: '1250' } }), templates);
    expect(email.locale).toBe('ja');
    expect(email.subject).toBe('返金（￥1,250）が完了しました');
    expect(email.text).toContain('山田 様');
    expect(email.text).toContain('2024年11月25日に、ご返金（￥1,250）の手続きが完了しました。');
    expect(email.html).toContain('<html lang="ja">');
  });

  it('speaks French, German and Spanish, formatting in the customer locale (three-decimal KWD)', () => {
    const kwd = { currency: 'KWD', value: '1250' };
    const fr = renderCustomerCompleted(completed({ customer: { name: 'Zoé', locale: 'fr-FR' }, refundAmount: kwd }), templates);
    expect(fr.locale).toBe('fr');
    expect(fr.subject).toBe('Votre remboursement de 1,250\u00a0KWD est effectué');
    expect(fr.text).toContain('le 25 novembre 2024');
    const de = renderCustomerCompleted(completed({ customer: { locale: 'de-AT' }, refundAmount: { currency: 'EUR', value: '123456' } }), templates);
    expect(de.locale).toBe('de');
    expect(de.subject).toBe('Ihre Erstattung über €\u00a01.234,56 ist abgeschlossen');
    expect(de.text).toContain('Hallo,');
    const es = renderCustomerCompleted(completed({ customer: { name: 'Ana', locale: 'es' } }), templates);
    expect(es.subject).toBe('Tu reembolso de 12,50\u00a0US$ se ha completado');
    expect(es.text).toContain('Hola, Ana:');
  });

  it('falls back to English, formatted in English, for a language without templates', () => {
    // European Portuguese: no pt-PT or pt template, and the Brazilian one is not used (docs/notifications.md).
    const email = renderCustomerCompleted(completed({ customer: { name: 'João', locale: 'pt-PT' }, refundAmount: { currency: 'EUR', value: '1250' } }), templates);
    expect(email.locale).toBe('en');
    expect(email.subject).toBe('Your refund of €12.50 is complete');
  });

  it('uses the detection time when Antom gave no refund time', () => {
    const email = renderCustomerCompleted(completed({ refundTime: undefined, detectedAt: Date.UTC(2025, 0, 2) }), templates);
    expect(email.text).toContain('completed on January 2, 2025.');
  });
});

describe('the escalation email', () => {
  it('carries the same facts, playbook and list as the Slack message, HTML-escaped', () => {
    const subject: NotificationSubject = { ...completed(), event: 'refund.failed', status: 'FAIL', reasonCode: 'RISK_REJECT', refundId: 'R-<x>' };
    const email = renderEscalationEmail(refundContent(subject, 'escalation', { playbook: 'Ask Antom & wait.' }), templates);
    expect(email.subject).toBe('[refund-notifier] Escalation: refund failed with RISK_REJECT');
    expect(email.text).toContain('Refund: R-<x>');
    expect(email.text).toContain('What to do: Ask Antom & wait.');
    expect(email.html).toContain('<td style="padding:2px 0;">R-&lt;x&gt;</td>');
    expect(email.html).toContain('Ask Antom &amp; wait.');
  });

  it('renders a group with its list and "and N more"', () => {
    const refunds = Array.from({ length: 23 }, (_, i) => ({ refundKey: `R-${i}`, paymentId: `P-${i}`, detectedAt: T0 + i }));
    const email = renderEscalationEmail(escalationGroupContent({ key: { template: 'escalation', parts: [{ field: 'reasonCode', value: 'RISK_REJECT' }] }, refunds, windowStart: T0, windowEnd: T0 + 22 }), templates);
    expect(email.text).toContain('  - R-0 · payment P-0 · 2024-11-25T16:00:00Z');
    expect(email.text).toContain('  … and 3 more');
    expect(email.html.match(/<li>/g)).toHaveLength(21);
  });
});

describe('loading templates', () => {
  const write = (dir: string, files: Record<string, string>) => {
    for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  };

  it('lets CONFIG_DIR/templates override one locale and keeps the shipped rest', () => {
    const configDir = mkdtempSync(join(tmpdir(), 'templates-'));
    const dir = join(configDir, 'templates');
    mkdirSync(dir);
    write(dir, {
      'customer-completed.fr.subject.txt': 'Remboursé : {{amount}}\n',
      'customer-completed.fr.html': '<p>{{name}}</p>',
      'customer-completed.fr.txt': '{{name}}',
      'customer-completed.it.subject.txt': 'Rimborso completato',
      'customer-completed.it.html': '<p>Ciao {{name}}</p>',
      'customer-completed.it.txt': 'Ciao {{name}}',
    });
    const set = loadTemplates({ configDir });
    expect(set.locales('customer-completed')).toContain('it');
    expect(renderCustomerCompleted(completed({ customer: { locale: 'fr' } }), set).subject).toBe('Remboursé : 12,50\u00a0$US');
    expect(renderCustomerCompleted(completed({ customer: { name: 'Lia', locale: 'it-IT' } }), set).text).toBe('Ciao Lia');
    expect(renderCustomerCompleted(completed({ customer: { locale: 'de' } }), set).locale).toBe('de');
  });

  it('fails fast, listing every problem: missing English, missing parts, unknown names and variables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'templates-'));
    write(dir, {
      'customer-completed.es.html': '{{ amont }}',
      'customer-completed.es.txt': 'x',
      'customer-complete.en.html': 'typo',
      'escalation.en.subject.txt': '{{title}}',
      'escalation.en.html': '{{#facts}}',
      'escalation.en.txt': '{{text}}',
    });
    let error: unknown;
    try {
      loadTemplates({ dirs: [dir] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      `${join(dir, 'customer-complete.en.html')}: unknown template "customer-complete" (known: customer-completed, escalation)`,
      `${join(dir, 'customer-completed.es.subject.txt')}: missing (a locale needs subject.txt and html; txt is optional)`,
      `${join(dir, 'customer-completed.es.html')}:1: unknown variable "amont" (this template may use: name, amount, refundId, paymentId, orderRef, date, brand, logoUrl, accent, supportEmail, supportUrl, supportPhone, support)`,
      `${join(dir, 'escalation.en.html')}:1: {{#facts}} is never closed`,
      `customer-completed.en: template missing from ${dir} (English is required: every locale falls back to it)`,
    ]);
  });

  it('parses every shipped template without a problem', () => {
    expect(() => loadTemplates({ dirs: [SHIPPED_TEMPLATES_DIR] })).not.toThrow();
  });
});
