/**
 * Generates src/domain/iso4217.ts, the ISO 4217 minor units (exponents) that amounts are shifted
 * by, from the `currency-codes` devDependency. src/domain may import nothing but zod, so the
 * package is read here, at build time, and never at run time.
 *
 * The source is the ISO 4217 List One that the package ships as published by SIX, the
 * maintenance agency of ISO 4217 (node_modules/currency-codes/iso-4217-list-one.xml), rather than
 * the package's parsed `data`: `data` turns ISO's "N.A." (no minor unit: gold, SDR, test and
 * bond-market units) into 0, and 0 would mean "whole units" — a claim ISO does not make. The
 * parsed `data` is still checked against the XML, so the two cannot silently disagree.
 *
 * `npx tsx scripts/iso4217-table.ts` writes the file; test/unit/iso4217-table.test.ts fails when
 * the committed table differs from what this generates (after a bump of currency-codes, say).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { data as packageData, publishDate as packagePublishDate } from 'currency-codes';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ISO4217_TABLE_PATH = 'src/domain/iso4217.ts';
const PACKAGE = 'currency-codes';

export interface Iso4217Entry {
  readonly code: string;
  /** The exponent; null where ISO says "N.A.". */
  readonly minorUnits: number | null;
  readonly name: string;
  /** ISO marks fund codes (CLF, COU, USN, …) with IsFund="true". */
  readonly fund: boolean;
}

export interface Iso4217List {
  /** The `Pblshd` date of the list. */
  readonly published: string;
  readonly packageVersion: string;
  readonly entries: readonly Iso4217Entry[];
}

function decodeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();
}

/**
 * List One is a flat list of `<CcyNtry>` elements, one per country and currency (EUR appears
 * once per euro country), each with at most one `<Ccy>`, `<CcyNm>` and `<CcyMnrUnts>`; a regular
 * expression reads it exactly, without an XML library for a file this plain.
 */
export function parseListOne(xml: string): { published: string; entries: Iso4217Entry[] } {
  const published = /<ISO_4217\s+Pblshd="([^"]+)"/.exec(xml)?.[1];
  if (!published) throw new Error('ISO 4217 list: no Pblshd date on <ISO_4217>');
  const byCode = new Map<string, Iso4217Entry>();
  for (const match of xml.matchAll(/<CcyNtry>([\s\S]*?)<\/CcyNtry>/g)) {
    const entry = match[1]!;
    const code = /<Ccy>([^<]*)<\/Ccy>/.exec(entry)?.[1]?.trim();
    // Entries without a code: places with no universal currency (Antarctica).
    if (!code) continue;
    if (!/^[A-Z]{3}$/.test(code)) throw new Error(`ISO 4217 list: "${code}" is not a three-letter code`);
    const units = /<CcyMnrUnts>([^<]*)<\/CcyMnrUnts>/.exec(entry)?.[1]?.trim();
    const nameMatch = /<CcyNm(\s[^>]*)?>([^<]*)<\/CcyNm>/.exec(entry);
    let minorUnits: number | null;
    if (units === 'N.A.') minorUnits = null;
    else if (units !== undefined && /^\d$/.test(units)) minorUnits = Number(units);
    else throw new Error(`ISO 4217 list: ${code} has minor units "${units ?? '(none)'}"`);
    const parsed: Iso4217Entry = {
      code,
      minorUnits,
      name: decodeXml(nameMatch?.[2] ?? ''),
      fund: /IsFund="true"/i.test(nameMatch?.[1] ?? ''),
    };
    const seen = byCode.get(code);
    if (seen && seen.minorUnits !== parsed.minorUnits) {
      throw new Error(`ISO 4217 list: ${code} has minor units ${seen.minorUnits} and ${parsed.minorUnits} in different entries`);
    }
    if (!seen) byCode.set(code, parsed);
  }
  const entries = [...byCode.values()].sort((a, b) => (a.code < b.code ? -1 : 1));
  return { published, entries };
}

/** The list as the installed package ships it, checked against the package's own parsed data. */
export function loadIso4217List(): Iso4217List {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve(`${PACKAGE}/package.json`);
  const packageVersion = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
  const xml = readFileSync(join(dirname(packageJson), 'iso-4217-list-one.xml'), 'utf8');
  const { published, entries } = parseListOne(xml);

  const problems: string[] = [];
  if (published !== packagePublishDate) problems.push(`the XML is of ${published}, the package says ${packagePublishDate}`);
  const fromXml = new Map(entries.map((e) => [e.code, e]));
  for (const record of packageData) {
    const entry = fromXml.get(record.code);
    if (!entry) problems.push(`${record.code} is in the package's data, not in its XML`);
    // The package writes "N.A." as 0.
    else if ((entry.minorUnits ?? 0) !== record.digits) problems.push(`${record.code}: XML ${entry.minorUnits ?? 'N.A.'}, data ${record.digits}`);
  }
  const inData = new Set(packageData.map((r) => r.code));
  for (const e of entries) if (!inData.has(e.code)) problems.push(`${e.code} is in the package's XML, not in its data`);
  if (problems.length > 0) throw new Error(`${PACKAGE}@${packageVersion} disagrees with itself:\n  ${problems.join('\n  ')}`);
  return { published, packageVersion, entries };
}

export function renderIso4217Table(list: Iso4217List = loadIso4217List()): string {
  const width = Math.max(...list.entries.map((e) => String(e.minorUnits).length));
  const lines = list.entries.map((e) => {
    const value = `${e.minorUnits},`.padEnd(width + 1);
    const note = `${e.name}${e.fund ? ' (fund)' : ''}${e.minorUnits === null ? ' (ISO: N.A.)' : ''}`;
    return `  ${e.code}: ${value} // ${note}`;
  });
  const withoutMinorUnit = list.entries.filter((e) => e.minorUnits === null).map((e) => e.code);
  return [
    `// Generated by scripts/iso4217-table.ts from ${PACKAGE}@${list.packageVersion}; do not edit.`,
    '// `npx tsx scripts/iso4217-table.ts` regenerates it; test/unit/iso4217-table.test.ts fails when it drifts.',
    '',
    '/** The publication date of the ISO 4217 List One (SIX, the ISO 4217 maintenance agency) this table holds. */',
    `export const ISO4217_PUBLISHED = '${list.published}';`,
    '',
    '/**',
    ' * ISO 4217 minor units per alphabetic code: how many digits of an amount in minor units are',
    ' * decimals ("1000000" IDR, exponent 2, is 10,000.00). Every code of List One, funds included.',
    ` * null where ISO says "N.A." (no minor unit): ${withoutMinorUnit.join(', ')}.`,
    ' */',
    'export const ISO4217_MINOR_UNITS: Readonly<Record<string, number | null>> = Object.freeze({',
    ...lines,
    '});',
    '',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const table = renderIso4217Table();
  writeFileSync(join(REPO, ISO4217_TABLE_PATH), table);
  console.log(`wrote ${ISO4217_TABLE_PATH}`);
}
