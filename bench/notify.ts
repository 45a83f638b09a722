/**
 * bench/notify: customer "refund completed" emails per second through a real local SMTP server,
 * with a pooled transport (the service's default) and with a fresh connection per message.
 *
 *   npx tsx bench/notify.ts [--emails 10000] [--connections 5] [--unpooled-emails 10000]
 *                           [--variants pooled,pooled-nagle,unpooled]
 *
 * `pooled` is the service's transport; `pooled-nagle` the same with nodemailer opening the socket
 * itself (Nagle's algorithm on, as nodemailer leaves it); `unpooled` a fresh connection per email.
 * Each email is rendered from the shipped templates (five locales, USD/EUR/JPY/KWD amounts) and
 * sent with createMailer; the SMTP server (src/devtools/smtp-capture.ts, the `smtp-server`
 * package) runs in a child process so the two sides do not share an event loop, and only counts
 * what it accepts (no parsing). Every run allows the same number of connections at once: a pool
 * keeps `connections` open and reuses them; without pooling, `connections` sends run side by
 * side, each opening and closing its own. Prints figures; asserts nothing (docs/performance.md).
 */
import { fork } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createMailer, messageIdFor } from '../src/adapters/email/mailer.js';
import { renderCustomerCompleted } from '../src/adapters/email/render.js';
import { loadTemplates, type TemplateSet } from '../src/adapters/email/templates.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { startSmtpCapture } from '../src/devtools/smtp-capture.js';
import type { NotificationSubject } from '../src/domain/routing.js';
import { printGroupingFigures } from './notify-grouping.js';

type Variant = 'pooled' | 'pooled-nagle' | 'unpooled';
type ToChild = { type: 'count' };
type FromChild = { type: 'ready'; url: string } | { type: 'count'; count: number; connections: number };

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      emails: { type: 'string', default: '10000' },
      'unpooled-emails': { type: 'string' },
      connections: { type: 'string', default: '5' },
      variants: { type: 'string', default: 'pooled,pooled-nagle,unpooled' },
    },
  });
  const VARIANTS = (args.variants ?? '').split(',').filter((v): v is Variant => v === 'pooled' || v === 'pooled-nagle' || v === 'unpooled');
  const EMAILS = Number(args.emails);
  const UNPOOLED = Number(args['unpooled-emails'] ?? args.emails);
  const CONNECTIONS = Number(args.connections);
  const FROM = 'Refunds <refunds@shop.example>';
  const logger = createLogger({ level: 'warn' });
  const templates = loadTemplates();

  // The child inherits tsx's loader through execArgv.
  const child = fork(import.meta.filename, ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const request = <T extends FromChild['type']>(type: T, send?: ToChild): Promise<Extract<FromChild, { type: T }>> =>
    new Promise((resolve) => {
      const onMessage = (message: FromChild) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        resolve(message as Extract<FromChild, { type: T }>);
      };
      child.on('message', onMessage);
      if (send) child.send(send);
    });
  const { url } = await request('ready');

  console.log(`bench/notify: ${VARIANTS.join(', ')}; ${EMAILS} emails pooled, ${UNPOOLED} unpooled; ${CONNECTIONS} connections at most; Node ${process.version}`);
  const renderPerSecond = measureRendering(templates, 2_000);
  console.log(`rendering alone: ${Math.round(renderPerSecond)} emails/s (one core)`);

  const rows: Array<{ name: string; emails: number; seconds: number; perSecond: number; connections: number }> = [];
  for (const variant of VARIANTS) {
    const pool = variant !== 'unpooled';
    const emails = pool ? EMAILS : UNPOOLED;
    if (emails <= 0) continue;
    const mailer = createMailer(
      { smtpUrl: url, from: FROM, pool, maxConnections: CONNECTIONS, noDelay: variant !== 'pooled-nagle' },
      { logger },
    );
    const before = await request('count', { type: 'count' });
    // The pool queues sends itself; two per connection keep every connection busy while the next
    // message is rendered. Without the pool each send is its own connection, so `CONNECTIONS`
    // sends in flight mean at most that many connections, the same bound as the pool's.
    const inFlight = pool ? CONNECTIONS * 2 : CONNECTIONS;
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < emails) {
          const n = next++;
          const subject = refund(n);
          const email = renderCustomerCompleted(subject, templates);
          await mailer.send({
            to: subject.customer!.email!,
            ...email,
            messageId: messageIdFor(`${subject.refundKey}:customer:customer-completed:${variant}`, FROM),
          });
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await mailer.close();
    const after = await request('count', { type: 'count' });
    if (after.count - before.count !== emails) throw new Error(`the server accepted ${after.count - before.count} of ${emails} emails`);
    rows.push({ name: variant, emails, seconds, perSecond: emails / seconds, connections: after.connections - before.connections });
  }
  child.disconnect();

  console.log('');
  console.log('| transport | emails | seconds | emails/s | SMTP connections opened |');
  console.log('|---|---:|---:|---:|---:|');
  for (const row of rows) {
    console.log(`| ${row.name} | ${row.emails} | ${row.seconds.toFixed(1)} | ${Math.round(row.perSecond)} | ${row.connections} |`);
  }
  const pooled = rows.find((r) => r.name === 'pooled');
  const unpooled = rows.find((r) => r.name === 'unpooled');
  const nagle = rows.find((r) => r.name === 'pooled-nagle');
  console.log('');
  if (pooled && unpooled) console.log(`pooled / unpooled: ${(pooled.perSecond / unpooled.perSecond).toFixed(1)}×`);
  if (pooled && nagle) console.log(`pooled, Nagle off / on: ${(pooled.perSecond / nagle.perSecond).toFixed(1)}×`);
  console.log(`peak RSS of the sending process: ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
  await printGroupingFigures(1000);
}

const LOCALES = ['en-US', 'es-ES', 'fr-FR', 'de-DE', 'ja-JP'] as const;
const AMOUNTS = [
  { currency: 'USD', value: '1250' },
  { currency: 'EUR', value: '9999' },
  { currency: 'JPY', value: '4800' },
  { currency: 'KWD', value: '12345' },
] as const;

function refund(n: number): NotificationSubject {
  const id = `BR-${String(n).padStart(8, '0')}`;
  return {
    event: 'refund.completed',
    refundKey: id,
    refundId: id,
    paymentId: `PAY-${n}`,
    status: 'SUCCESS',
    refundAmount: AMOUNTS[n % AMOUNTS.length]!,
    customer: { email: `customer${n}@example.com`, name: `Customer ${n}`, locale: LOCALES[n % LOCALES.length]! },
    refundTime: new Date(1_764_000_000_000 + n * 1000).toISOString(),
    detectedAt: 1_764_000_000_000 + n * 1000,
    metadata: { orderId: `ORD-${n}` },
  };
}

function measureRendering(templates: TemplateSet, count: number): number {
  // Warm-up: the first renders build the Intl formatters and let the JIT settle.
  for (let n = 0; n < 500; n += 1) renderCustomerCompleted(refund(n), templates);
  const started = performance.now();
  for (let n = 0; n < count; n += 1) renderCustomerCompleted(refund(n), templates);
  return count / ((performance.now() - started) / 1000);
}

// Last, so the constants above are initialised before either side runs.
if (process.argv.includes('--serve')) {
  const smtp = await startSmtpCapture({ parse: false });
  process.on('message', (message: ToChild) => {
    if (message.type === 'count') process.send?.({ type: 'count', count: smtp.count(), connections: smtp.connections() } satisfies FromChild);
  });
  process.on('disconnect', () => void smtp.close().then(() => process.exit(0)));
  process.send?.({ type: 'ready', url: smtp.url } satisfies FromChild);
} else {
  await main();
}
