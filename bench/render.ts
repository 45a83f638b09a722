/**
 * bench/render: what rendering one customer email costs, for customers spread over every shipped
 * language with the region tags records carry (`zh-HK`, `ar-KW`, `pt-BR`, …), so the locale
 * fallback and the formatters are on the measured path. Prints µs per email and emails/s on one
 * core; asserts nothing.
 *
 *   npx tsx bench/render.ts [--emails 50000]
 */
import { parseArgs } from 'node:util';
import { renderCustomerCompleted } from '../src/adapters/email/render.js';
import { loadTemplates } from '../src/adapters/email/templates.js';
import type { NotificationSubject } from '../src/domain/routing.js';

const { values: args } = parseArgs({ options: { emails: { type: 'string', default: '50000' } } });
const EMAILS = Number(args.emails);
const TAGS = ['en-US', 'de-AT', 'es-MX', 'fr-CA', 'ja-JP', 'zh-CN', 'zh-HK', 'zh-TW', 'ko-KR', 'th-TH', 'id-ID', 'ms-MY', 'vi-VN', 'pt-BR', 'pt-PT', 'ar-KW', 'ar-AE'];
const CURRENCIES = ['USD', 'EUR', 'JPY', 'KWD', 'IDR', 'KRW'];

function subject(n: number): NotificationSubject {
  return {
    event: 'refund.completed',
    refundKey: `R-${n}`,
    refundId: `R-${n}`,
    paymentId: `P-${n}`,
    status: 'SUCCESS',
    refundAmount: { currency: CURRENCIES[n % CURRENCIES.length]!, value: String(1_000 + n) },
    customer: { email: `c${n}@example.com`, name: `Customer ${n}`, locale: TAGS[n % TAGS.length]! },
    refundTime: '2026-12-01T10:00:00Z',
    detectedAt: Date.UTC(2026, 11, 1, 10),
    metadata: { orderId: `O-${n}` },
  };
}

const templates = loadTemplates();
const subjects = Array.from({ length: 1_000 }, (_, n) => subject(n));
// Warm-up: the first renders build the Intl formatters and let the JIT settle.
for (let n = 0; n < 5_000; n += 1) renderCustomerCompleted(subjects[n % subjects.length]!, templates);
const started = performance.now();
for (let n = 0; n < EMAILS; n += 1) renderCustomerCompleted(subjects[n % subjects.length]!, templates);
const ms = performance.now() - started;
console.log(`${EMAILS} emails over ${TAGS.length} customer locales: ${((ms * 1000) / EMAILS).toFixed(1)} µs per email, ${Math.round((EMAILS / ms) * 1000)} emails/s (one core)`);
