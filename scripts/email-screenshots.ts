/**
 * The screenshots in docs/notifications.md ("How it looks"): the customer email of a few locales,
 * one per kind of script (Latin, CJK, Thai, Arabic), rendered from the shipped templates in
 * Debian's chromium (`bash scripts/browser-setup.sh` installs it and the fonts) and cropped to the
 * 560px card. A locale without its own template shows the English fallback, as a customer
 * would get it.
 *
 *   npm run screenshots:emails                 # docs/img/email-{en,zh-CN,th,ar}.png
 *   npm run screenshots:emails -- ko vi        # other locales
 *
 * Each screenshot is checked like in test/integration/email-render.browser.test.ts (nothing
 * outside the card, every character with a glyph) before it is written: a picture of a broken
 * email is not one to publish.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTemplates } from '../src/adapters/email/templates.js';
import { launchBrowser } from '../test/support/browser.js';
import { CARD, layoutProblems, missingGlyphs, showEmail } from '../test/support/email-page.js';
import { customerSample } from '../test/support/email-samples.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
export const EMAIL_SCREENSHOT_LOCALES = ['en', 'zh-CN', 'th', 'ar'] as const;
/** A desktop mail client's reading pane: the card's 560px and a margin. */
const WIDTH = 600;

export async function writeEmailScreenshots(locales: readonly string[], outDir: string): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const templates = loadTemplates();
  const browser = await launchBrowser();
  const written: string[] = [];
  try {
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    for (const locale of locales) {
      const sample = customerSample(templates, locale);
      await showEmail(page, sample.email.html, WIDTH);
      const problems = [...(await layoutProblems(page, CARD)), ...(await missingGlyphs(page, 'body')).map((c) => `no glyph for ${c}`)];
      if (problems.length > 0) throw new Error(`the ${locale} email does not render cleanly:\n  ${problems.join('\n  ')}`);
      const path = join(outDir, `email-${locale}.png`);
      await page.locator(CARD).screenshot({ path });
      written.push(`${relative(REPO, path)} (${sample.customerLocale}, template ${sample.email.locale})`);
    }
  } finally {
    await browser.close();
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const locales = process.argv.slice(2);
  writeEmailScreenshots(locales.length > 0 ? locales : EMAIL_SCREENSHOT_LOCALES, join(REPO, 'docs', 'img')).then(
    (written) => {
      for (const line of written) console.log(`wrote ${line}`);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
