import { createPrivateKey, type KeyObject } from 'node:crypto';
import { senderAddressDomain } from '../domain/email-address.js';

/**
 * DKIM signing settings (docs/notifications.md, "Deliverability"): EMAIL_DKIM_DOMAIN,
 * EMAIL_DKIM_SELECTOR and EMAIL_DKIM_PRIVATE_KEY. Each check returns what is wrong in words an
 * operator can act on, or undefined; settings.ts turns them into parsers, load.ts runs the checks
 * that need several settings at once.
 */

export const DKIM_SETTINGS = ['EMAIL_DKIM_DOMAIN', 'EMAIL_DKIM_SELECTOR', 'EMAIL_DKIM_PRIVATE_KEY'] as const;
type DkimSettingName = (typeof DKIM_SETTINGS)[number];

/**
 * RFC 8301 §3.2: signers MUST use RSA keys of at least 1024 bits and SHOULD use at least 2048.
 * Receivers ignore signatures made with shorter keys, so a shorter key is refused at startup.
 */
export const DKIM_MIN_RSA_BITS = 1024;
export const DKIM_RECOMMENDED_RSA_BITS = 2048;

// One DNS label (RFC 1035 §2.3.1, letters, digits and inner hyphens; RFC 1123 allows a leading digit).
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

function labels(text: string): string[] | undefined {
  const parts = text.split('.');
  return parts.every((p) => LABEL.test(p)) ? parts : undefined;
}

/** EMAIL_DKIM_DOMAIN: the d= of the signature, a hostname with at least two labels. */
export function dkimDomainProblem(text: string): string | undefined {
  const parts = labels(text.replace(/\.$/, ''));
  if (!parts || parts.length < 2 || text.length > 253) {
    return `must be a domain name such as example.com (an internationalised one in its xn-- form), got "${text}"`;
  }
  return undefined;
}

/** `Acme.COM.` -> `acme.com`: DNS names are case-insensitive, and d= is written without the root dot. */
export function normalDomain(text: string): string {
  return text.replace(/\.$/, '').toLowerCase();
}

/**
 * EMAIL_DKIM_SELECTOR: the s= of the signature, published at `<selector>._domainkey.<domain>`.
 * RFC 6376 §3.1 allows dot-separated labels (`2025.refunds`); one label is the usual form.
 */
export function dkimSelectorProblem(text: string): string | undefined {
  if (!labels(text)) {
    return `must be a DNS label such as refunds2025 (letters, digits and inner hyphens; dot-separated labels are allowed), got "${text}"`;
  }
  return undefined;
}

/**
 * EMAIL_DKIM_PRIVATE_KEY: a PEM RSA private key (PKCS#8 `BEGIN PRIVATE KEY` or PKCS#1
 * `BEGIN RSA PRIVATE KEY`), unencrypted, of at least 1024 bits.
 *
 * Ed25519 (RFC 8463) is refused although node:crypto reads it: nodemailer's DKIM signer writes
 * `a=rsa-sha256` and signs with RSA only, and on any other key it sends the email unsigned
 * without a word. Receivers also verify ed25519-sha256 far less widely than rsa-sha256.
 */
export function dkimKeyProblem(text: string): string | undefined {
  if (!text.includes('-----BEGIN')) {
    return 'must be a PEM private key (-----BEGIN PRIVATE KEY-----), as written by openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048; set it from a file with EMAIL_DKIM_PRIVATE_KEY_FILE';
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (err) {
    const message = String((err as Error).message);
    if (/passphrase|encrypted/i.test(message) || text.includes('ENCRYPTED')) {
      return 'is encrypted with a passphrase: give the key unencrypted (keep it in a secret file, EMAIL_DKIM_PRIVATE_KEY_FILE)';
    }
    return 'is not a PEM private key that can be read (-----BEGIN PRIVATE KEY----- … -----END PRIVATE KEY-----, as openssl genpkey writes it)';
  }
  if (key.asymmetricKeyType === 'ed25519') {
    return `is an Ed25519 key: the mailer signs with rsa-sha256 only (nodemailer), so use an RSA key of ${DKIM_RECOMMENDED_RSA_BITS} bits`;
  }
  if (key.asymmetricKeyType !== 'rsa') {
    return `must be an RSA private key, got ${key.asymmetricKeyType ?? 'an unknown type'} (generate one with openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:${DKIM_RECOMMENDED_RSA_BITS})`;
  }
  const bits = rsaBits(key);
  if (bits < DKIM_MIN_RSA_BITS) {
    return `is a ${bits}-bit RSA key: receivers ignore DKIM signatures from keys under ${DKIM_MIN_RSA_BITS} bits (RFC 8301); use ${DKIM_RECOMMENDED_RSA_BITS} bits`;
  }
  return undefined;
}

/** The modulus length of a readable RSA private key (0 when it cannot be read). */
export function dkimKeyBits(pem: string): number {
  try {
    return rsaBits(createPrivateKey(pem));
  } catch {
    return 0;
  }
}

function rsaBits(key: KeyObject): number {
  return key.asymmetricKeyDetails?.modulusLength ?? 0;
}

export interface DkimValues {
  readonly EMAIL_FROM?: string;
  readonly EMAIL_DKIM_DOMAIN?: string;
  readonly EMAIL_DKIM_SELECTOR?: string;
  readonly EMAIL_DKIM_PRIVATE_KEY?: string;
}

/**
 * The checks across settings. `invalid` names the settings that were given but did not parse:
 * they have been reported already, and count as given here (not as missing).
 *
 * - All or none: a domain without its key cannot sign, and a key without its domain and
 *   selector cannot be found by receivers.
 * - DMARC alignment (RFC 7489 §3.1.1): a receiver counts a DKIM signature towards DMARC only
 *   when its d= domain is the From domain or shares its organisational domain. The service
 *   accepts the From domain itself or a parent of it (d=acme.com for refunds@mail.acme.com),
 *   which aligns under relaxed alignment, the default; strict alignment needs them equal.
 */
export function checkDkim(v: DkimValues, invalid: ReadonlySet<string>, problems: string[]): void {
  const given = (name: DkimSettingName) => v[name] !== undefined || invalid.has(name);
  const set = DKIM_SETTINGS.filter(given);
  if (set.length > 0 && set.length < DKIM_SETTINGS.length) {
    for (const name of DKIM_SETTINGS.filter((n) => !given(n))) {
      problems.push(
        `${name} is required with ${set.join(' and ')}: DKIM signing needs EMAIL_DKIM_DOMAIN, EMAIL_DKIM_SELECTOR and EMAIL_DKIM_PRIVATE_KEY (or _FILE) together, or none of them`,
      );
    }
  }
  const domain = v.EMAIL_DKIM_DOMAIN;
  if (domain === undefined || v.EMAIL_FROM === undefined) return;
  const fromDomain = senderAddressDomain(v.EMAIL_FROM);
  if (fromDomain !== domain && !fromDomain.endsWith(`.${domain}`)) {
    problems.push(
      `EMAIL_DKIM_DOMAIN (${domain}) must be EMAIL_FROM's domain (${fromDomain}) or a parent of it: receivers count a DKIM signature for DMARC only when its domain is aligned with the From address, so an unaligned signature does not help the email through`,
    );
  }
}
