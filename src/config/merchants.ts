import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { hasControlCharacter, isEmailAddress, senderAddressDomain, senderProblem } from '../domain/email-address.js';
import { ConfigError } from '../domain/errors.js';
import { readYamlFile, schemaProblems, type Path, type Problem } from './yaml-paths.js';

/**
 * `<CONFIG_DIR>/merchants.yaml`: the brand each merchant's customer email carries (docs/notifications.md,
 * "The merchant's brand"). Optional: without it every customer email comes from EMAIL_FROM with
 * the shipped wording, as before. Nothing is shipped under that name, so no deployment can send
 * as a sample merchant; docs/notifications.md has a full example.
 */
export const MERCHANTS_FILE_NAME = 'merchants.yaml';

/** `<configDir>/merchants.yaml` when there is one. */
export function merchantsFilePath(configDir: string | undefined): string | undefined {
  if (configDir === undefined) return undefined;
  const candidate = join(configDir, MERCHANTS_FILE_NAME);
  return existsSync(candidate) ? candidate : undefined;
}

/** One entry of the file, validated. Every field is optional; an absent one takes the service's default. */
export interface MerchantBrand {
  readonly displayName?: string;
  /** The From of the customer email (EMAIL_FROM when absent). */
  readonly from?: string;
  /** Reply-To (none when absent). */
  readonly replyTo?: string;
  readonly supportEmail?: string;
  readonly supportUrl?: string;
  readonly supportPhone?: string;
  readonly logoUrl?: string;
  /** `#rrggbb`, lower case (a `#rgb` in the file is expanded). */
  readonly accentColor?: string;
}

/** What a refund's merchant is read from: the record's merchantAccountId, or a field of its metadata. */
export type MerchantKey = { readonly kind: 'merchantAccountId' } | { readonly kind: 'metadata'; readonly field: string };

export interface MerchantDirectory {
  readonly key: MerchantKey;
  readonly merchants: ReadonlyMap<string, MerchantBrand>;
  /** For the refunds of merchants not listed (and of refunds without a merchant). */
  readonly fallback?: MerchantBrand;
}

/** No merchants.yaml: every customer email carries the service's defaults. */
export const NO_MERCHANTS: MerchantDirectory = { key: { kind: 'merchantAccountId' }, merchants: new Map() };

/** The parts of a notification subject a merchant is found by. */
export interface MerchantRef {
  readonly merchantAccountId?: string;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** The refund's merchant id, read the way the file's `key:` says; undefined when the refund has none. */
export function merchantIdOf(directory: MerchantDirectory, ref: MerchantRef): string | undefined {
  if (directory.key.kind === 'merchantAccountId') return ref.merchantAccountId;
  const value = ref.metadata?.[directory.key.field];
  if (typeof value === 'string' && value !== '') return value;
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
}

/**
 * The brand of a refund: its merchant's entry when listed, else the `default:` entry, else none.
 * Entries are not merged: a field a listed merchant leaves out takes the service's default, never
 * the `default:` entry's, so one merchant's email never carries another brand's logo or address.
 */
export function brandFor(directory: MerchantDirectory, ref: MerchantRef): MerchantBrand {
  const id = merchantIdOf(directory, ref);
  return (id !== undefined ? directory.merchants.get(id) : undefined) ?? directory.fallback ?? {};
}

// ── validation ──────────────────────────────────────────────────────────────────────────────────

/** A display name is shown in the From header, the subject and the sign-off: one short line. */
export const DISPLAY_NAME_MAX = 100;
/**
 * The accent colours the heading rule and the links on a white card: WCAG 2.1 asks 3:1 of graphics
 * and of large text against their background (SC 1.4.11, 1.4.3), the least a link's colour can
 * have and still be seen as one.
 */
export const MIN_ACCENT_CONTRAST = 3;
// E.164 numbers have at most 15 digits; 5 is the shortest a support line is in practice.
const PHONE_DIGITS = { min: 5, max: 15 } as const;
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

type Check = (text: string) => string | undefined;

const displayNameProblem: Check = (text) => {
  if (hasControlCharacter(text)) return 'must be one line of text, without line breaks or control characters';
  if (text.length > DISPLAY_NAME_MAX) return `must be at most ${DISPLAY_NAME_MAX} characters, got ${text.length}`;
  return undefined;
};

const emailProblem: Check = (text) => (isEmailAddress(text) ? undefined : `must be an email address, got "${text}"`);

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/**
 * https only: a mail client fetches the logo when the email is opened, and an http one is blocked
 * or flagged as insecure by most of them. http is let through for a loopback host, to preview an
 * email with a logo served locally; such a logo shows on no customer's screen.
 */
const logoUrlProblem: Check = (text) => {
  const url = parseUrl(text);
  if (!url) return `must be an absolute https URL, got "${text}"`;
  if (url.protocol === 'http:' && !LOOPBACK.test(url.hostname)) return `must use https (http only for a loopback host), got "${text}"`;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `must be an https URL, got the ${url.protocol} scheme`;
  if (url.username !== '' || url.password !== '') return 'must not carry a user name or password: every recipient could read them';
  return undefined;
};

const supportUrlProblem: Check = (text) => {
  const url = parseUrl(text);
  if (!url) return `must be an absolute http(s) URL, got "${text}"`;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `must be an http(s) URL, got the ${url.protocol} scheme`;
  if (url.username !== '' || url.password !== '') return 'must not carry a user name or password: every recipient could read them';
  return undefined;
};

const phoneProblem: Check = (text) => {
  const digits = text.replace(/\D/g, '').length;
  if (!/^\+?[0-9 ()-]+$/.test(text) || digits < PHONE_DIGITS.min || digits > PHONE_DIGITS.max) {
    return `must be a phone number: digits, spaces, parentheses and -, an optional + first, ${PHONE_DIGITS.min} to ${PHONE_DIGITS.max} digits; got "${text}"`;
  }
  return undefined;
};

/** `#abc` -> `#aabbcc`, lower case; undefined when not a colour. */
function hexColour(text: string): string | undefined {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(text);
  if (!m) return undefined;
  const hex = m[1]!.toLowerCase();
  return `#${hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex}`;
}

/** WCAG 2.1's contrast ratio of an `#rrggbb` colour against white (1 to 21). */
export function contrastWithWhite(colour: string): number {
  const channel = (i: number) => {
    const c = parseInt(colour.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return 1.05 / (luminance + 0.05);
}

const accentProblem: Check = (text) => {
  const colour = hexColour(text);
  if (!colour) return `must be a colour written #rgb or #rrggbb, got "${text}"`;
  const ratio = contrastWithWhite(colour);
  if (ratio < MIN_ACCENT_CONTRAST) {
    // Rounded down, so a refused colour never shows as 3.00:1.
    const shown = (Math.floor(ratio * 100) / 100).toFixed(2);
    return `${colour} has a contrast of ${shown}:1 against the white card; the heading rule and links need at least ${MIN_ACCENT_CONTRAST}:1 (WCAG 2.1): use a darker shade`;
  }
  return undefined;
};

/** A trimmed, non-empty string passing `check`, normalised by `normal`. */
function field(what: string, check: Check, normal: (text: string) => string = (t) => t) {
  return z
    .string({ error: `must be ${what}` })
    .transform((text, ctx) => {
      const trimmed = text.trim();
      const problem = trimmed === '' ? `must be ${what} (leave the field out for the default)` : check(trimmed);
      if (problem !== undefined) {
        ctx.addIssue({ code: 'custom', message: problem });
        return z.NEVER;
      }
      return normal(trimmed);
    });
}

const senderCheck: Check = (text) => senderProblem(text);

const BRAND_FIELDS = ['displayName', 'from', 'replyTo', 'supportEmail', 'supportUrl', 'supportPhone', 'logoUrl', 'accentColor'] as const;

const brandSchema = z
  .object(
    {
      displayName: field('a name such as Acme Store', displayNameProblem),
      from: field('a sender such as "Acme Store" <refunds@acme.example>', senderCheck),
      replyTo: field('an address or "Name <address>"', senderCheck),
      supportEmail: field('an email address', emailProblem),
      supportUrl: field('an http(s) URL', supportUrlProblem),
      supportPhone: field('a phone number', phoneProblem),
      logoUrl: field('an https URL', logoUrlProblem),
      accentColor: field('a colour such as #b3261e', accentProblem, (t) => hexColour(t)!),
    },
    { error: 'must be a mapping of fields (displayName, from, replyTo, …)' },
  )
  .partial()
  .strict();

const keySchema = z
  .string({ error: 'must be merchantAccountId or metadata.<field>' })
  .transform((text, ctx): MerchantKey => {
    const trimmed = text.trim();
    if (trimmed === 'merchantAccountId') return { kind: 'merchantAccountId' };
    const m = /^metadata\.([A-Za-z0-9_-]+)$/.exec(trimmed);
    if (m) return { kind: 'metadata', field: m[1]! };
    ctx.addIssue({ code: 'custom', message: `must be merchantAccountId or metadata.<field> (e.g. metadata.merchantId), got "${trimmed}"` });
    return z.NEVER;
  });

const fileSchema = z
  .object({
    version: z.literal(1, { error: 'must be 1' }).optional(),
    key: keySchema.optional(),
    default: brandSchema.optional(),
    merchants: z.record(z.string(), brandSchema, { error: 'must be a mapping of merchant ids to their brand' }).optional(),
  })
  .strict();

type RawFile = z.output<typeof fileSchema>;

export interface MerchantsLoadOptions {
  /**
   * EMAIL_DKIM_DOMAIN, when emails are signed: every `from` must be on it or a subdomain of it,
   * or the signature does not align with the From and DMARC fails.
   */
  readonly dkimDomain?: string;
}

export interface ParsedMerchantsFile {
  readonly directory?: MerchantDirectory;
  /** `file:line: path: problem`, one per problem. */
  readonly problems: readonly string[];
}

/** Parses and validates a merchants file's text; reports every problem instead of throwing. */
export function parseMerchantsFile(source: string, fileName: string, options: MerchantsLoadOptions = {}): ParsedMerchantsFile {
  const file = readYamlFile(source, fileName, 'not valid YAML: ');
  if (file.syntaxProblems.length > 0) return { problems: file.syntaxProblems };
  const value = file.value;
  // An empty file (or one whose every line is a comment) lists no merchant.
  if (value === null || value === undefined) return { directory: NO_MERCHANTS, problems: [] };
  if (!isMapping(value)) {
    return { problems: [`${fileName}: expected a mapping with \`merchants:\` (and optionally \`key:\` and \`default:\`), got ${Array.isArray(value) ? 'a list' : 'a single value'}`] };
  }

  const parsed = fileSchema.safeParse(value);
  const problems: Problem[] = parsed.success ? [] : schemaProblems(parsed.error.issues, knownKeysHint);
  problems.push(...crossCheck(value as Record<string, unknown>, options));
  if (problems.length > 0 || !parsed.success) return { problems: problems.map((p) => file.problem(p.path, p.message)) };
  return { directory: buildDirectory(parsed.data), problems: [] };
}

/**
 * What the schema does not see: empty merchant ids, and senders DKIM cannot sign for. Read from
 * the raw values, so these are reported beside the schema's problems, not after they are fixed.
 */
function crossCheck(value: Record<string, unknown>, options: MerchantsLoadOptions): Problem[] {
  const problems: Problem[] = [];
  const merchants = isMapping(value.merchants) ? value.merchants : {};
  for (const id of Object.keys(merchants)) {
    if (id.trim() === '') problems.push({ path: ['merchants', id], message: 'a merchant id must not be empty' });
    else if (id !== id.trim()) problems.push({ path: ['merchants', id], message: 'a merchant id must not begin or end with spaces: it would match no refund' });
  }
  const domain = options.dkimDomain;
  if (domain === undefined) return problems;
  const entries: Array<[Path, unknown]> = [[['default'], value.default], ...Object.entries(merchants).map(([id, brand]): [Path, unknown] => [['merchants', id], brand])];
  for (const [path, brand] of entries) {
    const from = isMapping(brand) && typeof brand.from === 'string' ? brand.from.trim() : undefined;
    if (from === undefined || senderProblem(from) !== undefined) continue; // none, or reported by the schema
    const fromDomain = senderAddressDomain(from);
    if (fromDomain !== domain && !fromDomain.endsWith(`.${domain}`)) {
      problems.push({
        path: [...path, 'from'],
        message: `is on ${fromDomain}, which is neither EMAIL_DKIM_DOMAIN (${domain}) nor a subdomain of it: the email would be signed d=${domain}, which DMARC does not count for a From on ${fromDomain} (no alignment), so receivers judge it unsigned by ${fromDomain}'s policy. Send from an address on ${domain} or a subdomain of it, or leave from out`,
      });
    }
  }
  return problems;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function buildDirectory(file: RawFile): MerchantDirectory {
  const merchants = new Map<string, MerchantBrand>();
  for (const [id, brand] of Object.entries(file.merchants ?? {})) merchants.set(id, brand);
  return { key: file.key ?? { kind: 'merchantAccountId' }, merchants, ...(file.default ? { fallback: file.default } : {}) };
}

function knownKeysHint(path: Path): string {
  if (path.length === 0) return ' (known: version, key, default, merchants)';
  return ` (known: ${BRAND_FIELDS.join(', ')})`;
}

/** Reads and validates a merchants file; throws one ConfigError naming the file and listing every problem. */
export function loadMerchantsFile(path: string, options: MerchantsLoadOptions = {}): MerchantDirectory {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  const parsed = parseMerchantsFile(source, path, options);
  if (!parsed.directory) throw new ConfigError(parsed.problems);
  return parsed.directory;
}

/** `<configDir>/merchants.yaml`, validated; no merchants when there is no such file. */
export function loadMerchants(configDir: string | undefined, options: MerchantsLoadOptions = {}): MerchantDirectory {
  const path = merchantsFilePath(configDir);
  return path === undefined ? NO_MERCHANTS : loadMerchantsFile(path, options);
}
