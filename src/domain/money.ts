import { ISO4217_MINOR_UNITS } from './iso4217.js';
import type { Money } from './refund.js';

/**
 * Amounts travel in minor units as decimal strings (Antom's own representation: "1250" USD is
 * $12.50, "1250" JPY is ¥1,250, "1250" KWD is 1.250 KD, "1000000" IDR is Rp 10,000.00). Turning
 * them into text is done on the digit string, never by dividing a float: 2^53 minor units is only
 * ~90 trillion dollars, but a float division already misprints "0.1 + 0.2"-style values, and a
 * corrupted or hostile event may carry any number of digits.
 *
 * The exponent is ISO 4217's (src/domain/iso4217.ts, generated from the ISO list), because that
 * is what Antom counts minor units in. CLDR, which Intl follows, gives some currencies the digits
 * people use in cash instead: 0 for IDR, HUF, COP, PKR, IQD and a dozen more where ISO says 2 (3
 * for IQD). Taking Intl's digits printed an IDR refund of "1000000" as IDR 1,000,000 instead of
 * IDR 10,000.00, a hundred times too much.
 */

const CURRENCY_CODE = /^[A-Z]{3}$/;
const MINOR_VALUE = /^-?\d+$/;

// Intl.NumberFormat construction is the expensive part (~tens of µs); the same few currencies
// and locales repeat for every notification, so formatters, and the CLDR digits of codes outside
// the ISO table, are memoised. The maps stay small: one entry per code outside ISO's list that
// actually occurs, and one per locale+currency pair actually used.
const cldrDigitsCache = new Map<string, number>();
const formatterCache = new Map<string, Intl.NumberFormat>();

/**
 * The number of minor-unit digits (the ISO 4217 exponent) of a currency: 2 for USD and IDR, 0 for
 * JPY, 3 for KWD and IQD, 4 for CLF. Undefined when an amount in that currency cannot be shifted:
 * a code that is not three letters, or one for which ISO 4217 defines no minor unit ("N.A.": XAU,
 * XDR, XXX and the other metals and units; see ISO4217_MINOR_UNITS).
 *
 * A well-formed code that is not in the ISO list (withdrawn, like HRK, or newer than the table)
 * keeps the rule used before the table existed: the digits CLDR (through Intl) gives it, and
 * Intl's default of 2 for a code CLDR does not know either, which is also ISO's most common
 * exponent.
 */
export function minorUnitDigits(currency: string): number | undefined {
  const code = currency.trim().toUpperCase();
  if (!CURRENCY_CODE.test(code)) return undefined;
  if (Object.hasOwn(ISO4217_MINOR_UNITS, code)) return ISO4217_MINOR_UNITS[code] ?? undefined;
  let digits = cldrDigitsCache.get(code);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
    cldrDigitsCache.set(code, digits);
  }
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

function formatterFor(locale: string, currency: string, digits: number): Intl.NumberFormat {
  const key = `${locale}|${currency}|${digits}`;
  let formatter = formatterCache.get(key);
  if (!formatter) {
    // Exactly `digits` decimals, never Intl's own: with CLDR's 0 for IDR, Intl would round
    // "10000.50" to "10,001" and drop the decimals that ISO and Antom count in.
    const options: Intl.NumberFormatOptions = { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits };
    try {
      formatter = new Intl.NumberFormat(locale, options);
    } catch {
      // A malformed locale tag (from an event's customer.locale) falls back to English rather
      // than losing the notification.
      formatter = new Intl.NumberFormat('en', options);
    }
    formatterCache.set(key, formatter);
  }
  return formatter;
}

/**
 * `{ currency: 'USD', value: '1250' }`, `en-US` -> `$12.50`; `{ JPY, '1250' }`, `ja` -> `￥1,250`;
 * `{ KWD, '1250' }`, `en` -> `KWD 1.250`; `{ IDR, '1000000' }`, `id` -> `Rp 10.000,00`, `en` ->
 * `IDR 10,000.00`. The number of decimals shown is always the ISO exponent, so every digit of the
 * amount is printed and none is invented. Intl's `format` takes the decimal string itself (ES2023
 * Intl.NumberFormat v3), so 25-digit amounts print exactly.
 *
 * Fallbacks, so a notification is never lost to a bad amount: a value that is not an integer
 * string prints as it came (`USD 12.5?`); a currency whose exponent is unknown — a code that is
 * not three letters, or one ISO gives no minor unit (XAU, XDR, XXX, …) — prints as
 * `<code> <value> (minor units)`, because the value cannot be shifted without guessing.
 */
export function formatMinorUnits(amount: { currency: string; value: string }, locale: string): string {
  const currency = amount.currency.trim().toUpperCase();
  const value = amount.value.trim();
  if (!MINOR_VALUE.test(value)) return `${amount.currency} ${amount.value}`;
  const digits = minorUnitDigits(currency);
  if (digits === undefined) return `${amount.currency} ${value} (minor units)`;
  const decimal = shiftMinorUnits(value, digits) as `${number}`;
  return formatterFor(locale, currency, digits).format(decimal);
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
