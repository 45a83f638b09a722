import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/main.js';
import type { AntomSandbox } from '../../src/simulator/sandbox.js';
import { axeViolations, launchBrowser, textOf, visible, type TestBrowser } from '../support/browser.js';
import { until } from '../support/kafka.js';
import { configFrom, createServiceTopics, inProcessService, isolatedEnv, produce, REPO_ROOT, refundRecord, testSandbox } from '../support/service.js';

/**
 * The operations console in a real browser (Debian's chromium through playwright-core), against
 * the real service: Kafka, the Antom sandbox, SQLite. An operator logs in, finds a stalled
 * refund, opens its timeline, re-checks it and sees it complete; a wrong token and a form without
 * its CSRF token are refused; axe-core finds no serious or critical accessibility violation on
 * any page. Each page's screenshot is kept in test-artifacts/console/ (not committed).
 */
const ADMIN = 'console-browser-test-token';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'console');

describe('operations console in a real browser', () => {
  let sandbox: AntomSandbox;
  let service: Service;
  let webhook: Server;
  let base: string;
  let browser: TestBrowser;
  let page: Page;
  const cspViolations: string[] = [];

  const amountOf = (n: number) => ({ currency: 'USD', value: String(100 + n) });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    sandbox = await testSandbox();
    // Slack's webhook says the channel is gone: deliveries fail for good and end dead at once.
    webhook = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('channel_not_found');
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const env = isolatedEnv('console', {
      ...sandbox.serviceEnv('v2'),
      ADMIN_TOKEN: ADMIN,
      POLL_FIRST_DELAY: '100ms',
      POLL_STALLED_AFTER: '1s',
      // Once stalled, the next inquiry is an hour away: only a re-check asks sooner.
      POLL_MAX_INTERVAL: '1h',
      SLACK_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/services/T0/B0/gone`,
    });
    const config = configFrom(env);
    await createServiceTopics(config, 1);
    service = inProcessService(config);
    ({ adminUrl: base } = await service.start());
    sandbox.createRefunds([
      // Stalled after a second; Antom settles it after 8 s, when its next inquiry is an hour away:
      // only a re-check learns it sooner.
      { refundId: 'CON-STALLED', refundRequestId: 'RQ-CON-STALLED', paymentId: 'P-CON-STALLED', pendingMs: 8_000, notify: false, refundAmount: amountOf(1) },
      { refundId: 'CON-FAILED', refundRequestId: 'RQ-CON-FAILED', paymentId: 'P-CON-FAILED', final: 'FAIL', failCode: 'RISK_REJECT', failureReporting: 'result-code', notify: false, refundAmount: amountOf(2) },
      { refundId: 'CON-DONE', refundRequestId: 'RQ-CON-DONE', paymentId: 'P-CON-DONE', notify: false, refundAmount: amountOf(3) },
    ]);
    await produce(env.KAFKA_BROKERS!, config.values.TOPIC_REFUND_INITIATED, [
      refundRecord(1, { refundId: 'CON-STALLED', refundRequestId: 'RQ-CON-STALLED', paymentId: 'P-CON-STALLED', customer: { email: 'stalled.customer@example.com', name: 'Stella Stalled' } }),
      refundRecord(2, { refundId: 'CON-FAILED', refundRequestId: 'RQ-CON-FAILED', paymentId: 'P-CON-FAILED' }),
      refundRecord(3, { refundId: 'CON-DONE', refundRequestId: 'RQ-CON-DONE', paymentId: 'P-CON-DONE' }),
    ]);
    await until(async () => (await service.store.getRefund('CON-STALLED'))?.status === 'stalled', { message: 'CON-STALLED stalled', timeoutMs: 30_000 });
    await until(async () => (await service.store.getRefund('CON-FAILED'))?.status === 'failed', { message: 'CON-FAILED failed', timeoutMs: 30_000 });
    await until(async () => (await service.store.getRefund('CON-DONE'))?.status === 'completed', { message: 'CON-DONE completed', timeoutMs: 30_000 });
    await until(async () => (await service.store.countOutbox()).dead > 0, { message: 'a delivery dead', timeoutMs: 30_000 });
    await until(() => sandbox.seen('CON-STALLED').refund?.status === 'SUCCESS', { message: 'Antom settled CON-STALLED', timeoutMs: 30_000 });
    expect((await service.store.getRefund('CON-STALLED'))?.status).toBe('stalled');

    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on('console', (msg) => {
      if (/Content.Security.Policy/i.test(msg.text())) cspViolations.push(msg.text());
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await sandbox?.close();
    await new Promise<void>((resolve) => (webhook ? webhook.close(() => resolve()) : resolve()));
  });

  /** No serious or critical accessibility violation, then a screenshot of the whole page. */
  async function checkPage(name: string): Promise<void> {
    const violations = await axeViolations(page);
    const grave = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(grave, `${name}: ${JSON.stringify(grave, null, 1)}`).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    // Customer data never goes into an address.
    expect(page.url()).not.toContain('@');
  }

  it('refuses a wrong token', async () => {
    await page.goto(`${base}/console`);
    expect(new URL(page.url()).pathname).toBe('/console/login');
    await checkPage('login');
    await page.getByLabel('Admin token').fill('not-the-token');
    const [answer] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/console/login') && r.request().method() === 'POST'), page.getByRole('button', { name: 'Log in' }).click()]);
    expect(answer.status()).toBe(401);
    expect((await textOf(page.getByRole('alert'))).trim()).toBe('Wrong token.');
    expect((await browser.context.cookies()).map((c) => c.name)).not.toContain('rn_console');
  });

  it('logs in, finds the stalled refund, opens its timeline, re-checks it and sees it complete', { timeout: 120_000 }, async () => {
    await page.goto(`${base}/console/login`);
    await page.getByLabel('Admin token').fill(ADMIN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${base}/console`);
    const session = (await browser.context.cookies()).find((c) => c.name === 'rn_console')!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    expect(session.expires).toBeGreaterThan(Date.now() / 1000);
    await visible(page.getByRole('heading', { name: 'Overview' }));
    await visible(page.locator('#c-antom'));
    await checkPage('overview');
    // The ingest card shows the group's lag as the broker tells it: nothing left once every seeded
    // record is committed.
    const ingestCard = page.locator('section[aria-labelledby="c-ingest"]');
    await until(
      async () => {
        await page.reload();
        return /consumer lag\s*0\b/.test(await textOf(ingestCard));
      },
      { timeoutMs: 30_000, message: 'the overview shows a consumer lag of 0' },
    );

    await page.getByRole('link', { name: 'Stalled', exact: true }).click();
    await checkPage('stalled');
    const row = page.getByRole('row').filter({ hasText: 'CON-STALLED' });
    expect(await textOf(row)).toContain('s***@e***.com');
    expect(await textOf(page.locator('body'))).not.toContain('stalled.customer@example.com');
    await row.getByRole('link', { name: 'CON-STALLED' }).click();

    await visible(page.getByRole('heading', { name: 'Refund CON-STALLED' }));
    expect(await textOf(page.locator('dl.facts'))).toContain('stalled');
    // The customer's address in full here, and each inquiry with Antom's answer, classified.
    expect(await textOf(page.locator('dl.facts'))).toContain('stalled.customer@example.com');
    expect(await textOf(page.getByRole('row').filter({ hasText: 'still PENDING' }).first())).toContain('pending');
    await checkPage('refund-stalled');

    await page.getByRole('link', { name: 'Re-check now…' }).click();
    await visible(page.getByRole('heading', { name: 'Re-check refund CON-STALLED?' }));
    await checkPage('confirm-recheck');
    // Antom has settled it meanwhile (beforeAll waited for that); the poll loop would ask in an hour.
    await page.getByRole('button', { name: 'Re-check now' }).click();
    expect(await textOf(page.getByRole('status'))).toContain('Re-check requested');
    await until(
      async () => {
        await page.reload();
        return (await page.locator('dl.facts').textContent())?.includes('completed');
      },
      { message: 'the refund page shows CON-STALLED completed', timeoutMs: 20_000, intervalMs: 250 },
    );
    await visible(page.getByRole('row').filter({ hasText: 're-check requested in the console' }));
    await visible(page.getByRole('row').filter({ hasText: 'refund.completed queued' }));
    await checkPage('refund-completed');
  });

  it('searches by customer email without putting it in the address', async () => {
    await page.goto(`${base}/console/search`);
    await page.getByLabel('Refund id, payment id, refund request id or customer email').fill('stalled.customer@example.com');
    await page.getByRole('button', { name: 'Search' }).click();
    expect(await textOf(page.getByRole('table'))).toContain('CON-STALLED');
    expect(await textOf(page.getByRole('table'))).toContain('s***@e***.com');
    await checkPage('search');
  });

  it('lists failed refunds by reason code and dead deliveries, and retries one after a confirmation', async () => {
    await page.goto(`${base}/console/failed`);
    await page.getByRole('link', { name: 'RISK_REJECT' }).click();
    await visible(page.getByRole('row').filter({ hasText: 'CON-FAILED' }));
    await checkPage('failed');

    await page.goto(`${base}/console/dead`);
    await visible(page.getByRole('row').filter({ hasText: 'channel_not_found' }).first());
    await checkPage('dead');
    const deadBefore = (await service.store.countOutbox()).dead;
    await page.getByRole('link', { name: 'Retry…' }).first().click();
    await checkPage('confirm-retry');
    await page.getByRole('button', { name: 'Retry delivery' }).click();
    expect(await textOf(page.getByRole('status'))).toContain('pending again');
    // Put back to pending (it fails again against the gone channel, and dies again: that is fine).
    await until(async () => (await service.store.countOutbox()).dead < deadBefore || (await service.store.listOutbox({ status: 'dead', limit: 1000 })).some((e) => e.attempts > 1), {
      message: 'the retried delivery was taken up again',
    });
  });

  it('refuses a form sent without its CSRF token (403)', async () => {
    await page.goto(`${base}/console/refunds/CON-FAILED/recheck`);
    // The confirmation form's own token (the log-out form in the header has one too).
    await page.locator('form[action$="/recheck"] input[name="csrf"]').evaluate((input) => input.remove());
    const [answer] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Re-check now' }).click()]);
    expect(answer.status()).toBe(403);
    expect(await textOf(page.getByRole('alert'))).toContain('CSRF token is missing or wrong');
    await checkPage('csrf-refused');
  });

  it('loaded every page without a Content-Security-Policy violation', () => {
    expect(cspViolations).toEqual([]);
  });
});
