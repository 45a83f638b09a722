import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { data as packageData } from 'currency-codes';
import { describe, expect, it } from 'vitest';
import { ISO4217_TABLE_PATH, loadIso4217List, parseListOne, renderIso4217Table } from '../../scripts/iso4217-table.js';
import { ISO4217_MINOR_UNITS, ISO4217_PUBLISHED } from '../../src/domain/iso4217.js';

const root = join(import.meta.dirname, '..', '..');

describe('the ISO 4217 minor-unit table (src/domain/iso4217.ts)', () => {
  it('is what scripts/iso4217-table.ts generates from the installed currency-codes (run `npx tsx scripts/iso4217-table.ts` after a bump)', () => {
    expect(readFileSync(join(root, ISO4217_TABLE_PATH), 'utf8'), `${ISO4217_TABLE_PATH} has drifted from currency-codes`).toBe(renderIso4217Table());
  });

  it("holds every code of the package's list with the package's digits, N.A. as null", () => {
    const list = loadIso4217List();
    expect(ISO4217_PUBLISHED).toBe(list.published);
    expect(Object.keys(ISO4217_MINOR_UNITS)).toEqual(list.entries.map((e) => e.code));
    expect(Object.keys(ISO4217_MINOR_UNITS).sort()).toEqual(packageData.map((r) => r.code).sort());
    for (const record of packageData) {
      const digits = ISO4217_MINOR_UNITS[record.code];
      // currency-codes writes ISO's "N.A." as 0; the table keeps it apart.
      expect(digits ?? 0, record.code).toBe(record.digits);
    }
    expect(Object.isFrozen(ISO4217_MINOR_UNITS)).toBe(true);
  });

  it('has the exponents Antom counts in: the issue 11 currencies, funds and special codes', () => {
    expect(ISO4217_MINOR_UNITS).toMatchObject({
      USD: 2, EUR: 2, JPY: 0, KRW: 0, KWD: 3, BHD: 3, JOD: 3, OMR: 3, TND: 3, LYD: 3,
      IDR: 2, HUF: 2, COP: 2, PKR: 2, LAK: 2, MGA: 2, ALL: 2, MMK: 2, SYP: 2, YER: 2, LBP: 2, SOS: 2, IQD: 3,
      CLF: 4, UYW: 4, UYI: 0, BOV: 2, CHE: 2, CHW: 2, COU: 2, MXV: 2, USN: 2,
      XAU: null, XAG: null, XPT: null, XPD: null, XDR: null, XSU: null, XUA: null, XTS: null, XXX: null,
      XBA: null, XBB: null, XBC: null, XBD: null, XAF: 0, XOF: 0, XPF: 0,
    });
    // Only List One (current codes): withdrawn ones such as HRK are left to the fallback.
    expect(Object.hasOwn(ISO4217_MINOR_UNITS, 'HRK')).toBe(false);
  });
});

describe('reading ISO 4217 List One', () => {
  const list = (entries: string) => `<?xml version="1.0" encoding="UTF-8"?><ISO_4217 Pblshd="2024-06-25"><CcyTbl>${entries}</CcyTbl></ISO_4217>`;
  const entry = (country: string, code: string | undefined, units: string | undefined, name = 'X', fund = false) =>
    `<CcyNtry><CtryNm>${country}</CtryNm><CcyNm${fund ? ' IsFund="true"' : ''}>${name}</CcyNm>${code ? `<Ccy>${code}</Ccy><CcyNbr>1</CcyNbr>` : ''}${units ? `<CcyMnrUnts>${units}</CcyMnrUnts>` : ''}</CcyNtry>`;

  it('reads codes, N.A., fund flags and names; merges a code listed for several countries; skips entries without a code', () => {
    const parsed = parseListOne(
      list(
        entry('FRANCE', 'EUR', '2', 'Euro') +
          entry('ANTARCTICA', undefined, undefined, 'No universal currency') +
          entry('GERMANY', 'EUR', '2', 'Euro') +
          entry('ZZ07_Gold', 'XAU', 'N.A.', 'Gold') +
          entry('CHILE', 'CLF', '4', 'Unidad de Fomento', true) +
          entry('BOSNIA &amp; HERZEGOVINA', 'BAM', '2', 'Convertible Mark &amp; more'),
      ),
    );
    expect(parsed).toEqual({
      published: '2024-06-25',
      entries: [
        { code: 'BAM', minorUnits: 2, name: 'Convertible Mark & more', fund: false },
        { code: 'CLF', minorUnits: 4, name: 'Unidad de Fomento', fund: true },
        { code: 'EUR', minorUnits: 2, name: 'Euro', fund: false },
        { code: 'XAU', minorUnits: null, name: 'Gold', fund: false },
      ],
    });
  });

  it('refuses a list it cannot read exactly, rather than guess an exponent', () => {
    expect(() => parseListOne('<ISO_4217><CcyTbl></CcyTbl></ISO_4217>')).toThrow(/Pblshd/);
    expect(() => parseListOne(list(entry('A', 'EUR', '2') + entry('B', 'EUR', '3')))).toThrow(/EUR has minor units 2 and 3/);
    expect(() => parseListOne(list(entry('A', 'ABC', 'two')))).toThrow(/ABC has minor units "two"/);
    expect(() => parseListOne(list(entry('A', 'ABC', undefined)))).toThrow(/ABC has minor units "\(none\)"/);
    expect(() => parseListOne(list(entry('A', 'ab1', '2')))).toThrow(/not a three-letter code/);
  });

  it('renders one line per code, N.A. as null', () => {
    const table = renderIso4217Table({
      published: '2024-06-25',
      packageVersion: '9.9.9',
      entries: [
        { code: 'CLF', minorUnits: 4, name: 'Unidad de Fomento', fund: true },
        { code: 'XAU', minorUnits: null, name: 'Gold', fund: false },
      ],
    });
    expect(table).toContain('from currency-codes@9.9.9; do not edit.');
    expect(table).toContain("export const ISO4217_PUBLISHED = '2024-06-25';");
    expect(table).toContain('  CLF: 4,    // Unidad de Fomento (fund)\n  XAU: null, // Gold (ISO: N.A.)\n});');
  });
});
