import { describe, expect, it } from 'vitest';
import { formatMinorUnits, minorUnitDigits, minorUnitsGreaterThan, shiftMinorUnits, sumByCurrency } from '../../../src/domain/money.js';

describe('formatMinorUnits', () => {
  it('formats two-decimal currencies from minor units', () => {
    expect(formatMinorUnits({ currency: 'USD', value: '1250' }, 'en-US')).toBe('$12.50');
    expect(formatMinorUnits({ currency: 'USD', value: '5' }, 'en-US')).toBe('$0.05');
    expect(formatMinorUnits({ currency: 'USD', value: '0' }, 'en-US')).toBe('$0.00');
    expect(formatMinorUnits({ currency: 'USD', value: '001250' }, 'en-US')).toBe('$12.50');
  });

  it('formats a zero-decimal currency (JPY) without shifting', () => {
    expect(formatMinorUnits({ currency: 'JPY', value: '1250' }, 'ja-JP')).toBe('￥1,250');
    expect(formatMinorUnits({ currency: 'JPY', value: '1250' }, 'en-US')).toBe('¥1,250');
  });

  it('formats a three-decimal currency (KWD) with three decimals', () => {
    expect(formatMinorUnits({ currency: 'KWD', value: '1250' }, 'en')).toBe('KWD\u00a01.250');
    expect(formatMinorUnits({ currency: 'KWD', value: '5' }, 'en')).toBe('KWD\u00a00.005');
  });

  it('follows the locale for separators and symbol placement', () => {
    expect(formatMinorUnits({ currency: 'EUR', value: '123456' }, 'de-DE')).toBe('1.234,56\u00a0€');
    expect(formatMinorUnits({ currency: 'EUR', value: '123456' }, 'fr-FR')).toBe('1\u202f234,56\u00a0€');
  });

  it('is exact for values far beyond 2^53 (no float division)', () => {
    expect(formatMinorUnits({ currency: 'USD', value: '123456789012345678901234' }, 'en-US')).toBe('$1,234,567,890,123,456,789,012.34');
    expect(formatMinorUnits({ currency: 'KWD', value: '123456789012345678901' }, 'en')).toBe('KWD\u00a0123,456,789,012,345,678.901');
    // 9007199254740993 is the first integer a double cannot hold.
    expect(formatMinorUnits({ currency: 'JPY', value: '9007199254740993' }, 'en-US')).toBe('¥9,007,199,254,740,993');
  });

  it('accepts a lower-case currency code and a negative value', () => {
    expect(formatMinorUnits({ currency: 'usd', value: '1250' }, 'en-US')).toBe('$12.50');
    expect(formatMinorUnits({ currency: 'USD', value: '-1250' }, 'en-US')).toBe('-$12.50');
  });

  it('shifts by the ISO 4217 exponent where CLDR (Intl) has other digits, and shows every decimal', () => {
    // ISO 2, CLDR 0: "1000000" IDR is 10,000.00 at Antom, not 1,000,000.
    expect(formatMinorUnits({ currency: 'IDR', value: '1000000' }, 'id')).toBe('Rp\u00a010.000,00');
    expect(formatMinorUnits({ currency: 'IDR', value: '1000000' }, 'en')).toBe('IDR\u00a010,000.00');
    // Intl alone would round these to whole units ("IDR 10,001", "HUF 12,346").
    expect(formatMinorUnits({ currency: 'IDR', value: '1000050' }, 'en')).toBe('IDR\u00a010,000.50');
    expect(formatMinorUnits({ currency: 'HUF', value: '1234550' }, 'hu')).toBe('12\u00a0345,50\u00a0Ft');
    expect(formatMinorUnits({ currency: 'COP', value: '1000000' }, 'es-CO')).toBe('$\u00a010.000,00');
    // ISO 3, CLDR 0.
    expect(formatMinorUnits({ currency: 'IQD', value: '1000000' }, 'en')).toBe('IQD\u00a01,000.000');
    expect(formatMinorUnits({ currency: 'IQD', value: '5' }, 'en')).toBe('IQD\u00a00.005');
    // ISO 4 (a fund code), and ISO 0 with trailing zeros kept as units.
    expect(formatMinorUnits({ currency: 'CLF', value: '123456' }, 'es-CL')).toBe('CLF\u00a012,3456');
    expect(formatMinorUnits({ currency: 'KRW', value: '1000000' }, 'ko')).toBe('₩1,000,000');
    expect(formatMinorUnits({ currency: 'BHD', value: '1250' }, 'en')).toBe('BHD\u00a01.250');
  });

  it('prints a currency ISO gives no minor unit (XAU, XDR, XXX, …) unshifted, as minor units', () => {
    expect(formatMinorUnits({ currency: 'XAU', value: '1250' }, 'en')).toBe('XAU 1250 (minor units)');
    expect(formatMinorUnits({ currency: 'xdr', value: '-7' }, 'fr')).toBe('xdr -7 (minor units)');
    expect(formatMinorUnits({ currency: 'XXX', value: '0' }, 'ja')).toBe('XXX 0 (minor units)');
  });

  it('falls back instead of throwing on unknown currencies, bad values and bad locales', () => {
    // Well-formed but in neither ISO's list nor CLDR: Intl's default exponent of 2.
    expect(formatMinorUnits({ currency: 'XYZ', value: '1250' }, 'en')).toBe('XYZ\u00a012.50');
    // Withdrawn from ISO's list (Croatian kuna, 2023), still known to CLDR: CLDR's digits.
    expect(formatMinorUnits({ currency: 'HRK', value: '1250' }, 'en')).toBe('HRK\u00a012.50');
    // Not a currency code at all: the exponent is unknown, so the value is not shifted.
    expect(formatMinorUnits({ currency: 'US', value: '1250' }, 'en')).toBe('US 1250 (minor units)');
    expect(formatMinorUnits({ currency: 'USD', value: '12.5' }, 'en')).toBe('USD 12.5');
    expect(formatMinorUnits({ currency: 'USD', value: '1250' }, 'not a locale!!')).toBe('$12.50');
  });
});

describe('minor units helpers', () => {
  it('knows the exponent of common currencies', () => {
    expect(minorUnitDigits('USD')).toBe(2);
    expect(minorUnitDigits('JPY')).toBe(0);
    expect(minorUnitDigits('KWD')).toBe(3);
    expect(minorUnitDigits('BHD')).toBe(3);
    expect(minorUnitDigits('CLF')).toBe(4);
    expect(minorUnitDigits(' idr ')).toBe(2);
    expect(minorUnitDigits('US')).toBeUndefined();
    expect(minorUnitDigits('XAU')).toBeUndefined();
    expect(minorUnitDigits('XYZ')).toBe(2);
  });

  it('follows ISO 4217, not CLDR, for every currency where the two disagree', () => {
    // Issue 11: ISO 2 where CLDR (and so Intl) says 0, and IQD (ISO 3).
    const iso2 = ['IDR', 'HUF', 'COP', 'PKR', 'LAK', 'MGA', 'ALL', 'MMK', 'SYP', 'YER', 'LBP', 'SOS', 'AFN', 'IRR', 'KPW'];
    for (const code of iso2) {
      expect(minorUnitDigits(code), code).toBe(2);
      expect(new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits, `CLDR ${code}`).toBe(0);
    }
    expect(minorUnitDigits('IQD')).toBe(3);
    for (const code of ['XAG', 'XAU', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XPD', 'XPT', 'XSU', 'XTS', 'XUA', 'XXX']) {
      expect(minorUnitDigits(code), code).toBeUndefined();
    }
  });

  it('shifts the decimal point on the digit string', () => {
    expect(shiftMinorUnits('123456', 2)).toBe('1234.56');
    expect(shiftMinorUnits('5', 3)).toBe('0.005');
    expect(shiftMinorUnits('-1250', 2)).toBe('-12.50');
    expect(shiftMinorUnits('0001250', 0)).toBe('1250');
  });

  it('sums per currency exactly, sorted by code, skipping unusable values', () => {
    expect(
      sumByCurrency([
        { currency: 'USD', value: '1250' },
        { currency: 'JPY', value: '500' },
        { currency: 'usd', value: '9007199254740993' },
        undefined,
        { currency: 'EUR', value: 'n/a' },
      ]),
    ).toEqual([
      { currency: 'JPY', value: '500' },
      { currency: 'USD', value: '9007199254742243' },
    ]);
    expect(sumByCurrency([])).toEqual([]);
  });

  it('compares minor units as integers', () => {
    expect(minorUnitsGreaterThan('100001', '100000')).toBe(true);
    expect(minorUnitsGreaterThan('100000', '100000')).toBe(false);
    expect(minorUnitsGreaterThan('99999999999999999999', '99999999999999999998')).toBe(true);
    expect(minorUnitsGreaterThan('abc', '1')).toBe(false);
  });
});
