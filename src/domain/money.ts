import type { Money } from './refund.js';

/**
 * Amounts travel in minor units as decimal strings (Antom's own representation: "1250" USD is
 * $12.50, "1250" JPY is ¥1,250, "1250" KWD is 1.250 KD). Turning them into text is done on the
 * digit string, never by dividing a float: 2^53 minor units is only ~90 trillion dollars, but a
 * float division already misprints "0.1 + 0.2"-style values, and a corrupted or hostile event may
 * carry any number of digits.
 */

const CURRENCY_CODE = /^[A-Z]{3}$/;
const MINOR_VALUE = /^-?\d+$/;

// Intl.NumberFormat construction is the expensive part (~tens of µs); the same few currencies
// and locales repeat for every notification, so both lookups are memoised. The maps stay small:
// one entry per currency (about 300 ISO codes exist) and per locale+currency pair actually used.
const minorDigitsCache = new Map<string, number | undefined>();
const formatterCache = new Map<string, Intl.NumberFormat>();

/**
 * The number of minor-unit digits of a currency, as CLDR (through Intl) knows it: 2 for USD,
 * 0 for JPY, 3 for KWD. Undefined for a code that is not three letters. A well-formed code Intl
 * does not know gets Intl's own default of 2, which is also ISO 4217's most common exponent.
 */
export function minorUnitDigits(currency: string): number | undefined {
  const code = currency.toUpperCase();
  if (minorDigitsCache.has(code)) return minorDigitsCache.get(code);
  let digits: number | undefined;
  if (CURRENCY_CODE.test(code)) {
    try {
      digits = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits;
    } catch {
      digits = undefined;
    }
  }
  minorDigitsCache.set(code, digits);
  return digits;
}

/** "123456", 2 -> "1234.56"; "5", 3 -> "0.005"; "-1250", 2 -> "-12.50". Exact for any length. */
export function shiftMinorUnits(value: string, digits: number): string {
  const negative = value.startsWith('-');
  const unsigned = (negative ? value.slice(1) : value).replace(/^0+(?=\d)/, '');
  if (digits === 0) return `${negative ? '-' : ''}${unsigned}`;
  const padded = unsigned.padStart(digits + 1, '0');
  const whole = padded.slice(0, padded.length - digits);
  const fraction = padded.slice(padded.length - digits);
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

function formatterFor(locale: string, currency: string): Intl.NumberFormat {
  const key = `${locale}|${currency}`;
  let formatter = formatterCache.get(key);
  if (!formatter) {
    try {
      formatter = new Intl.NumberFormat(locale, { style: 'currency', currency });
    } catch {
      // A malformed locale tag (from an event's customer.locale) falls back to English rather
      // than losing the notification.
      formatter = new Intl.NumberFormat('en', { style: 'currency', currency });
    }
    formatterCache.set(key, formatter);
  }
  return formatter;
}

/**
 * `{ currency: 'USD', value: '1250' }`, `en-US` -> `$12.50`; `{ JPY, '1250' }`, `ja` -> `￥1,250`;
 * `{ KWD, '1250' }`, `en` -> `KWD 1.250`. Intl's `format` takes the decimal string itself (ES2023
 * Intl.NumberFormat v3), so 25-digit amounts print exactly.
 *
 * Fallbacks, so a notification is never lost to a bad amount: a value that is not an integer
 * string prints as it came (`USD 12.5?`); a currency code that is not three letters prints as
 * `<code> <value> (minor units)`, because without a known exponent the value cannot be shifted.
 */
export function formatMinorUnits(amount: { currency: string; value: string }, locale: string): string {
  const currency = amount.currency.trim().toUpperCase();
  const value = amount.value.trim();
  if (!MINOR_VALUE.test(value)) return `${amount.currency} ${amount.value}`;
  const digits = minorUnitDigits(currency);
  if (digits === undefined) return `${amount.currency} ${value} (minor units)`;
  const decimal = shiftMinorUnits(value, digits) as `${number}`;
  return formatterFor(locale, currency).format(decimal);
}

/**
 * Totals per currency, in minor units, sorted by currency code. Amounts whose value is not an
 * integer string are left out (they cannot be added exactly); BigInt keeps any total exact.
 */
export function sumByCurrency(amounts: Iterable<Money | undefined>): Money[] {
  const totals = new Map<string, bigint>();
  for (const amount of amounts) {
    if (!amount) continue;
    const value = amount.value.trim();
    if (!MINOR_VALUE.test(value)) continue;
    const currency = amount.currency.trim().toUpperCase();
    totals.set(currency, (totals.get(currency) ?? 0n) + BigInt(value));
  }
  return [...totals.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([currency, total]) => ({ currency, value: total.toString() }));
}

/** a > b for two minor-unit strings; false when either is not an integer string. */
export function minorUnitsGreaterThan(a: string, b: string): boolean {
  const x = a.trim();
  const y = b.trim();
  if (!MINOR_VALUE.test(x) || !MINOR_VALUE.test(y)) return false;
  return BigInt(x) > BigInt(y);
}
