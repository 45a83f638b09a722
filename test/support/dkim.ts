import { createHash, createPublicKey, verify } from 'node:crypto';

/**
 * A DKIM verifier for tests (RFC 6376), written from the RFC rather than from nodemailer's signer,
 * so that a signature it accepts is one a receiver would accept: the message's own bytes, the
 * signature's tags, relaxed or simple canonicalization of the header fields it names and of the
 * body, the body hash, and the signature checked against the public key taken from the DNS TXT
 * record an operator publishes (`v=DKIM1; k=rsa; p=…`), which the test hands in instead of a
 * DNS lookup. Supports rsa-sha256, the only algorithm the service signs with.
 */

export interface DkimSignature {
  /** Every tag as written, `b` and `bh` with their folding whitespace removed. */
  readonly tags: Readonly<Record<string, string>> & { readonly b: string; readonly bh: string };
  readonly domain: string;
  readonly selector: string;
  /** Header field names signed, lowercase, in order. */
  readonly signedHeaders: readonly string[];
}

export type DkimResult =
  | { readonly ok: true; readonly signature: DkimSignature }
  | { readonly ok: false; readonly reason: string; readonly signature?: DkimSignature };

interface HeaderField {
  /** Lowercase. */
  readonly name: string;
  /** The whole field as written, folds included, without its final CRLF. */
  readonly raw: string;
}

/** Splits a message into its header fields (folds kept) and its body. */
export function splitMessage(raw: Buffer | string): { fields: HeaderField[]; body: string } {
  // latin1 keeps every byte as one char, so hashing the string back gives the bytes received.
  const text = typeof raw === 'string' ? raw : raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const body = end === -1 ? '' : text.slice(end + 4);
  const fields: HeaderField[] = [];
  for (const line of head.split('\r\n')) {
    if (/^[ \t]/.test(line) && fields.length > 0) {
      const last = fields.pop()!;
      fields.push({ name: last.name, raw: `${last.raw}\r\n${line}` });
    } else {
      fields.push({ name: line.slice(0, line.indexOf(':')).trim().toLowerCase(), raw: line });
    }
  }
  return { fields, body };
}

/** RFC 6376 §3.2: `tag=value` pairs separated by `;`, whitespace around each ignored. */
export function parseTagList(value: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const part of value.replace(/\r\n/g, '').split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    tags[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return tags;
}

/** §3.4.2 relaxed header canonicalization: `name:value` with whitespace runs made one space. */
function relaxedHeader(raw: string): string {
  const colon = raw.indexOf(':');
  const name = raw.slice(0, colon).trim().toLowerCase();
  const value = raw
    .slice(colon + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
  return `${name}:${value}`;
}

/** §3.4.4 relaxed body: whitespace runs made one space, none at line ends, no empty lines at the end. */
function relaxedBody(body: string): string {
  const lines = body.split('\r\n').map((line) => line.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.length === 0 ? '' : `${lines.join('\r\n')}\r\n`;
}

/** §3.4.3 simple body: as is, but no empty lines at the end (and one CRLF at least). */
function simpleBody(body: string): string {
  const trimmed = body.replace(/(\r\n)*$/, '');
  return `${trimmed}\r\n`;
}

/** The public key a `v=DKIM1; k=rsa; p=…` TXT record publishes. */
export function publicKeyFromDnsRecord(record: string) {
  const tags = parseTagList(record);
  if (tags.v !== undefined && tags.v !== 'DKIM1') throw new Error(`not a DKIM key record: v=${tags.v}`);
  if ((tags.k ?? 'rsa') !== 'rsa') throw new Error(`not an RSA key record: k=${tags.k}`);
  if (!tags.p) throw new Error('the key record has no p= (a revoked key)');
  return createPublicKey({ key: Buffer.from(tags.p!.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
}

/**
 * Verifies the first DKIM-Signature of `raw`. `resolveTxt` answers the TXT lookup of
 * `<selector>._domainkey.<domain>` (a stub standing in for DNS).
 */
export function verifyDkim(raw: Buffer | string, resolveTxt: (name: string) => string | undefined): DkimResult {
  const { fields, body } = splitMessage(raw);
  const field = fields.find((f) => f.name === 'dkim-signature');
  if (!field) return { ok: false, reason: 'no DKIM-Signature header' };
  const tags = parseTagList(field.raw.slice(field.raw.indexOf(':') + 1));
  const signature: DkimSignature = {
    tags: { ...tags, b: (tags.b ?? '').replace(/\s+/g, ''), bh: (tags.bh ?? '').replace(/\s+/g, '') },
    domain: tags.d ?? '',
    selector: tags.s ?? '',
    signedHeaders: (tags.h ?? '').split(':').map((h) => h.trim().toLowerCase()).filter((h) => h !== ''),
  };
  if (tags.v !== '1') return { ok: false, reason: `v=${tags.v}`, signature };
  if (tags.a !== 'rsa-sha256') return { ok: false, reason: `unsupported a=${tags.a}`, signature };
  if (tags.l !== undefined) return { ok: false, reason: 'l= (a partial body hash) is not accepted', signature };
  if (!signature.signedHeaders.includes('from')) return { ok: false, reason: 'From is not signed (RFC 6376 §5.4 requires it)', signature };
  const [headerCanon = 'simple', bodyCanon = 'simple'] = (tags.c ?? 'simple/simple').split('/');

  const canonicalBody = bodyCanon === 'relaxed' ? relaxedBody(body) : simpleBody(body);
  const bodyHash = createHash('sha256').update(Buffer.from(canonicalBody, 'latin1')).digest('base64');
  if (bodyHash !== signature.tags.bh) return { ok: false, reason: `body hash mismatch: computed ${bodyHash}, bh=${signature.tags.bh}`, signature };

  // §5.4.2: each name in h= takes the last instance of that field not yet taken, bottom up; a
  // name with no instance left contributes nothing.
  const taken = new Set<HeaderField>();
  let data = '';
  for (const name of signature.signedHeaders) {
    const instance = [...fields].reverse().find((f) => f.name === name && !taken.has(f) && f !== field);
    if (!instance) continue;
    taken.add(instance);
    data += `${headerCanon === 'relaxed' ? relaxedHeader(instance.raw) : instance.raw}\r\n`;
  }
  // The signature's own field, with b= emptied and no final CRLF (§3.7).
  const unsigned = field.raw.replace(/((?:^[^:]*:|;)\s*b=)[^;]*/, '$1');
  data += headerCanon === 'relaxed' ? relaxedHeader(unsigned) : unsigned;

  const record = resolveTxt(`${signature.selector}._domainkey.${signature.domain}`);
  if (record === undefined) return { ok: false, reason: `no key record at ${signature.selector}._domainkey.${signature.domain}`, signature };
  const valid = verify('sha256', Buffer.from(data, 'latin1'), publicKeyFromDnsRecord(record), Buffer.from(signature.tags.b, 'base64'));
  return valid ? { ok: true, signature } : { ok: false, reason: 'the signature does not verify against the published key', signature };
}
