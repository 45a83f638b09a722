import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmailBrand } from '../../src/adapters/email/render.js';
import { loadTemplates } from '../../src/adapters/email/templates.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { CARD, digitsOf, documentLanguage, firstOf, layoutProblems, missingGlyphs, reading, showEmail } from '../support/email-page.js';
import { customerSample, escalationSample, sampleBrand, type EmailSample } from '../support/email-samples.js';
import { REPO_ROOT } from '../support/service.js';

/**
 * Every customer email in a real browser (Debian's chromium through playwright-core), as a
 * customer would see it: for each locale the shipped template set has, a refund in that market's
 * currency, with and without a merchant's brand, at a desktop mail pane's 600px and a phone's
 * 360px. Nothing may stick out of the 560px card or the screen, every character must have a
 * glyph (scripts/browser-setup.sh installs the fonts), the amount must show the right digits, the
 * refund id and order reference must read as written (left to right, also in Arabic), and
 * `<html lang dir>` must say what the page is written in. The operations email gets the same
 * layout check. Screenshots land in test-artifacts/emails/ (not committed).
 */
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'emails');
const templates = loadTemplates();
const LOCALES = templates.locales('customer-completed');
/** A desktop client's reading pane, and a small phone. */
const WIDTHS = [600, 360] as const;
/** Scripts written right to left (ISO 15924), as Intl.Locale#maximize names them. */
const RTL_SCRIPTS = new Set(['Arab', 'Hebr', 'Syrc', 'Thaa', 'Nkoo', 'Adlm']);

/**
 * A 480x120 logo, wider than the phone's card: a merchant's logo comes in whatever size they
 * have, and the template must fit it. Drawn here as a PNG (a two-colour band) so the test needs
 * no file; served over http like a real logo, which the browser fetches (the mailer itself never
 * fetches URLs).
 */
function logoPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const [r, g, b] = x < height ? [0x8a, 0x2b, 0xe2] : [0xf4, 0xf5, 0xf7];
      rows.set([r, g, b], y * (width * 3 + 1) + 1 + x * 3);
    }
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

describe('customer emails in a real browser', () => {
  let browser: TestBrowser;
  let page: Page;
  let logoServer: Server;
  let logoUrl: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    console.log(`email screenshots: ${ARTIFACTS}`);
    const logo = logoPng(480, 120);
    logoServer = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': logo.length });
      res.end(logo);
    });
    await new Promise<void>((resolve) => logoServer.listen(0, '127.0.0.1', resolve));
    logoUrl = `http://127.0.0.1:${(logoServer.address() as AddressInfo).port}/logo.png`;
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (logoServer ? logoServer.close(() => resolve()) : resolve()));
  });

  it('ships customer templates in several locales, English among them', () => {
    expect(LOCALES).toContain('en');
    expect(LOCALES.length).toBeGreaterThanOrEqual(5);
  });

  /** Everything wrong with one sample at one width, so a failure lists it all at once. */
  async function problemsOf(sample: EmailSample, brand: EmailBrand | undefined, width: number, shot: string): Promise<string[]> {
    const problems: string[] = [];
    await showEmail(page, sample.email.html, width);
    await page.screenshot({ path: join(ARTIFACTS, shot), fullPage: true });

    const { lang, dir } = await documentLanguage(page);
    const expected = new Intl.Locale(sample.locale).maximize();
    let written: Intl.Locale | undefined;
    try {
      written = new Intl.Locale(lang).maximize();
    } catch {
      problems.push(`<html lang="${lang}"> is not a language tag`);
    }
    // The script matters as much as the language: it picks the font (a zh-TW page set as
    // zh-CN shows simplified glyph shapes to a Taiwanese reader).
    if (written && (written.language !== expected.language || written.script !== expected.script)) {
      problems.push(`<html lang="${lang}"> is ${written.language}-${written.script}, the template is ${expected.language}-${expected.script}`);
    }
    const rtl = RTL_SCRIPTS.has(expected.script ?? '');
    if (rtl ? dir !== 'rtl' : dir !== '' && dir !== 'ltr') problems.push(`<html dir="${dir}">, want ${rtl ? 'rtl' : 'ltr or none'}`);

    problems.push(...(await layoutProblems(page, CARD)));

    const tofu = await missingGlyphs(page, 'body');
    if (tofu.length > 0) problems.push(`no glyph for ${tofu.map((c) => `${c} (U+${c.codePointAt(0)!.toString(16).toUpperCase()})`).join(', ')}: are the fonts of scripts/browser-setup.sh installed?`);

    const card = page.locator(CARD);
    const amount = await firstOf(card, 'bdi.amount', card.locator('strong'));
    if (!(await amount.isVisible())) {
      problems.push('the amount is not visible');
    } else {
      const shown = (await amount.textContent()) ?? '';
      if (digitsOf(shown) !== sample.amountDigits) problems.push(`the amount shows "${shown}", want the digits ${sample.amountDigits} (${sample.currency})`);
    }

    for (const [what, value, cls] of [
      ['refund id', sample.refundId, 'bdi.refund-id'],
      ['order reference', sample.orderRef, 'bdi.order-ref'],
    ] as const) {
      const element = await firstOf(card, cls, card.getByText(value, { exact: true }));
      if (!(await element.isVisible())) {
        problems.push(`the ${what} ${value} is not visible`);
        continue;
      }
      const seen = await reading(element, CARD);
      if (!seen) throw new Error(`reading() found no text in the ${what}`);
      if (seen.text !== value) problems.push(`the ${what} reads "${seen.text}", want "${value}"`);
      if (!seen.leftToRight) problems.push(`the ${what} ${value} does not read left to right`);
      if (rtl && !seen.isolated) problems.push(`the ${what} is not isolated from the right-to-left text around it (wrap it in <bdi>)`);
      if (rtl && seen.direction !== 'ltr') problems.push(`the ${what}'s direction is ${seen.direction}, want ltr`);
    }
    // The brand's contacts, where the template shows them: a phone number in a right-to-left
    // paragraph is the classic victim ("+1 415 555 0100" shown as "0100 555 415 1+").
    for (const contact of [brand?.supportPhone, brand?.supportEmail]) {
      const seen = contact ? await reading(card, CARD, contact) : undefined;
      if (seen && !seen.leftToRight) problems.push(`the support contact ${contact} does not read left to right`);
    }
    return problems;
  }

  it.each(LOCALES)('%s: fits, has every glyph, shows the amount and ids as written', async (locale) => {
    for (const [variant, brand] of [
      ['plain', undefined],
      ['brand', sampleBrand(logoUrl)],
    ] as const) {
      const sample = customerSample(templates, locale, brand);
      // The sample asks for this locale's template: a fallback to English would test English twice.
      expect(sample.email.locale, `${sample.customerLocale} resolves to the ${locale} template`).toBe(locale);
      for (const width of WIDTHS) {
        const problems = await problemsOf(sample, brand, width, `${locale}-${variant}-${width}.png`);
        expect(problems, `${locale}, ${variant}, ${width}px`).toEqual([]);
      }
    }
  });

  it('the operations email fits a desktop pane and a phone, every character with a glyph', async () => {
    const email = escalationSample(templates);
    for (const width of WIDTHS) {
      await showEmail(page, email.html, width);
      await page.screenshot({ path: join(ARTIFACTS, `escalation-en-${width}.png`), fullPage: true });
      expect(await layoutProblems(page, undefined), `${width}px`).toEqual([]);
      expect(await missingGlyphs(page, 'body'), `${width}px`).toEqual([]);
    }
  });

  // The checks themselves, on pages made to fail them: a check that cannot fail proves nothing.
  describe('the checks see what they look for', () => {
    it('text wider than the card or the screen', async () => {
      // A fixed table layout keeps the card's width, so the line sticks out of it (an automatic
      // layout would widen the card instead, which the viewport check sees).
      await showEmail(page, `<table width="560" style="table-layout:fixed;width:300px"><tr><td><p style="white-space:nowrap">${'W'.repeat(60)}</p></td></tr></table>`, 360);
      const problems = await layoutProblems(page, CARD);
      expect(problems.some((p) => p.includes('beyond the 360px viewport'))).toBe(true);
      expect(problems.some((p) => p.includes("outside the card's"))).toBe(true);
    });

    // Toto (Unicode 14), a script Debian 12's fonts do not cover; on a machine where fontconfig
    // knows a font for it, the check has nothing to find.
    const totoCovered = execFileSync('fc-list', [':charset=1e290', 'family'], { encoding: 'utf8' }).trim() !== '';
    it.skipIf(totoCovered)('a script no installed font covers, amid Latin and Japanese text that has its fonts', async () => {
      await showEmail(page, '<p lang="en">Refund \u{1E290}\u{1E291}\u{1E292} done, 返金完了</p>', 600);
      expect(await missingGlyphs(page, 'body')).toEqual(['\u{1E290}', '\u{1E291}', '\u{1E292}']);
    });

    it('an id reordered by the right-to-left text around it, and the same id isolated', async () => {
      const td = (id: string) => `<table width="560"><tr><td>رقم الطلب</td><td id="x">${id}</td></tr></table>`;
      await showEmail(page, `<html dir="rtl" lang="ar"><body>${td('#10042-B')}</body></html>`, 600);
      expect(await reading(page.locator('#x'), CARD)).toMatchObject({ text: '#10042-B', leftToRight: false, isolated: false });
      await showEmail(page, `<html dir="rtl" lang="ar"><body>${td('<bdi class="order-ref">#10042-B</bdi>')}</body></html>`, 600);
      expect(await reading(page.locator('bdi'), CARD)).toMatchObject({ text: '#10042-B', leftToRight: true, isolated: true, direction: 'ltr' });
      // A phone number inside an Arabic sentence, found by its text.
      await showEmail(page, `<html dir="rtl" lang="ar"><body><table width="560"><tr><td><p>الهاتف: +1 415 555 0100</p></td></tr></table></body></html>`, 600);
      expect(await reading(page.locator(CARD), CARD, '+1 415 555 0100')).toMatchObject({ leftToRight: false, isolated: false });
    });

    it('Arabic-Indic digits count as digits', () => {
      expect(digitsOf('‏١٢٫٥٠٠ د.ك.‏')).toBe('12500');
      expect(digitsOf('۱۲۳')).toBe('123');
    });
  });
});
