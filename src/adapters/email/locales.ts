/**
 * Which template locale a customer's language tag reads, and which way its text runs
 * (docs/notifications.md, "Locales, amounts and dates" and "Right to left").
 */

/** Every template must exist in this locale: it is where every other locale falls back to. */
export const FALLBACK_LOCALE = 'en';

/**
 * Templates a tag shares with others of its script or likely region, matched against the tag's
 * likely subtags (Intl.Locale#maximize, CLDR): `zh-HK` is zh-Hant-HK and `zh-Hant` is zh-Hant-TW,
 * so both read Taiwan's Traditional template; `zh-SG` is zh-Hans-SG and a bare `zh` is zh-Hans-CN,
 * so both read the Simplified one. A bare `pt` is pt-Latn-BR (CLDR's `pt` is Brazilian Portuguese)
 * and reads pt-BR; `pt-PT` is pt-Latn-PT and does not: Brazilian register and vocabulary ("você",
 * "pedido" where Portugal says "encomenda", "seu" without the article) read as another country's
 * email in Portugal, so pt-PT keeps the chain pt-PT -> pt -> en until a European `pt-PT`
 * template ships.
 *
 * A new row here is the whole change for another shared template (say Cantonese `yue` -> zh-TW).
 */
const SHARED_TEMPLATES: ReadonlyArray<{ readonly language: string; readonly script?: string; readonly region?: string; readonly template: string }> = [
  { language: 'zh', script: 'Hant', template: 'zh-TW' },
  { language: 'zh', script: 'Hans', template: 'zh-CN' },
  { language: 'pt', region: 'BR', template: 'pt-BR' },
];

/** Scripts written right to left (Unicode Script property; the ones CLDR's likely subtags give). */
const RTL_SCRIPTS: ReadonlySet<string> = new Set(['Arab', 'Hebr', 'Thaa', 'Syrc', 'Nkoo', 'Adlm', 'Rohg', 'Mand', 'Samr']);

function canonicalBase(requested: string | undefined): string | undefined {
  if (!requested || requested.trim() === '') return undefined;
  let canonical: string | undefined;
  try {
    // getCanonicalLocales also replaces deprecated codes: `in` -> `id`, `iw` -> `he`.
    canonical = Intl.getCanonicalLocales(requested.trim().replace(/_/g, '-'))[0];
  } catch {
    return undefined;
  }
  // Unicode and private-use extensions (-u-ca-…, -x-…) say nothing about the language of a template.
  return canonical?.split(/-[a-z0-9]-/i)[0];
}

function maximize(tag: string): Intl.Locale | undefined {
  try {
    return new Intl.Locale(tag).maximize();
  } catch {
    return undefined;
  }
}

/**
 * The template locales to try, most specific first, English last:
 *
 *   pt-BR        -> pt-BR, pt, en
 *   zh-HK        -> zh-HK, zh-TW, zh, en          (Traditional, as zh-MO, zh-Hant, zh-Hant-*)
 *   zh-Hant-HK   -> zh-Hant-HK, zh-HK, zh-Hant, zh-TW, zh, en
 *   zh           -> zh, zh-CN, en                 (Simplified, as zh-SG, zh-Hans, zh-Hans-*)
 *   pt           -> pt, pt-BR, en
 *   pt-PT        -> pt-PT, pt, en
 *   in           -> id, en                        (the old code, canonicalised by Intl)
 *
 * The tag's own truncations come first; a shared template (SHARED_TEMPLATES) comes right before
 * the bare language, or right after it when the bare language is what was asked for. A tag with
 * both a script and a region also tries the tag without the script when that region writes that
 * script anyway (zh-Hant-HK -> zh-HK, but not sr-Latn-RS -> sr-RS, which is Cyrillic).
 * A tag that is not a locale at all falls back to English alone.
 */
export function localeChain(requested: string | undefined): readonly string[] {
  return memo(chains, requested ?? '', () => computeChain(requested));
}

// Every email asks for its customer's chain (and direction) several times over, and resolving one
// builds and maximizes several Intl.Locale objects (~11 µs); the tags customers carry are few.
// Bounded, since the tags come from records: past the bound the oldest answer is dropped.
const MEMO_LIMIT = 1_000;
const chains = new Map<string, readonly string[]>();
const directions = new Map<string, 'ltr' | 'rtl'>();

function memo<T>(cache: Map<string, T>, key: string, compute: () => T): T {
  const known = cache.get(key);
  if (known !== undefined) return known;
  const value = compute();
  if (cache.size >= MEMO_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
  return value;
}

function computeChain(requested: string | undefined): readonly string[] {
  const chain: string[] = [];
  const base = canonicalBase(requested);
  if (base) {
    const parts = base.split('-');
    const walk: string[] = [];
    for (let i = parts.length; i > 0; i -= 1) walk.push(parts.slice(0, i).join('-'));
    const likely = maximize(base);
    const steps = walk.slice(0, -1);
    let own: Intl.Locale | undefined;
    try {
      own = new Intl.Locale(base);
    } catch {
      own = undefined;
    }
    if (own?.script && own.region && maximize(`${own.language}-${own.region}`)?.script === own.script) {
      steps.splice(1, 0, `${own.language}-${own.region}`);
    }
    const shared = likely
      ? SHARED_TEMPLATES.filter(
          (s) => s.language === likely.language && (!s.script || s.script === likely.script) && (!s.region || s.region === likely.region),
        ).map((s) => s.template)
      : [];
    const language = walk[walk.length - 1]!;
    steps.push(...(walk.length > 1 ? [...shared, language] : [language, ...shared]));
    for (const step of steps) if (!chain.includes(step)) chain.push(step);
  }
  if (!chain.includes(FALLBACK_LOCALE)) chain.push(FALLBACK_LOCALE);
  return Object.freeze(chain);
}

/** `rtl` for a locale whose script runs right to left (ar, ar-KW, he, fa, ms-Arab), else `ltr`. */
export function textDirection(locale: string): 'ltr' | 'rtl' {
  return memo(directions, locale, () => {
    const script = maximize(canonicalBase(locale) ?? '')?.script;
    return script && RTL_SCRIPTS.has(script) ? 'rtl' : 'ltr';
  });
}

/** U+2068 FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE: plain text's `<bdi>`. */
export const FSI = '\u2068';
export const PDI = '\u2069';

/**
 * A value for a plain-text part in a right-to-left locale: isolated, so a Latin id such as
 * `123-ABC`, an amount carrying RLM marks or a name in another script keeps its own order and
 * does not pull the punctuation around it along. Empty stays empty.
 */
export function isolate(value: string): string {
  return value === '' ? '' : `${FSI}${value}${PDI}`;
}
