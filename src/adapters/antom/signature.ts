import { sign, verify, type KeyObject } from 'node:crypto';

/**
 * Antom's message signatures (docs/antom.md, "Signing"), the same in both directions:
 *
 *   content   = "POST " + path + "\n" + clientId + "." + time + "." + body     (UTF-8 bytes)
 *   signature = urlencode(base64(RSASSA-PKCS1-v1_5(SHA-256, content)))
 *   header    = "algorithm=RSA256,keyVersion=<v>,signature=<signature>"
 *
 * `body` is taken as bytes, never re-serialised: what is signed is what goes on the wire, and
 * what is verified is what came off it.
 */

const SIGNATURE_ALGORITHM = 'RSA256';

/** The bytes that are signed. `path` includes the query string, if any. */
export function signingContent(path: string, clientId: string, time: string, body: Uint8Array | string): Buffer {
  const head = Buffer.from(`POST ${path}\n${clientId}.${time}.`, 'utf8');
  const tail = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([head, tail]);
}

/** Standard base64 (with + / =) of the RSA-SHA256 signature; not yet URL-encoded. */
export function signContent(content: Uint8Array, privateKey: KeyObject): string {
  // For an RSA KeyObject Node defaults to PKCS#1 v1.5 padding, which is what SHA256withRSA means.
  return sign('sha256', content, privateKey).toString('base64');
}

/**
 * The same signature, computed on libuv's thread pool: an RSA-2048 private-key operation costs
 * about 0.9 ms of CPU (openssl speed on our bench machine), which would otherwise block the event
 * loop and cap a process at one core's worth of signatures.
 */
function signContentAsync(content: Uint8Array, privateKey: KeyObject): Promise<string> {
  return new Promise((resolve, reject) => {
    sign('sha256', content, privateKey, (err, signature) => (err ? reject(err) : resolve(signature.toString('base64'))));
  });
}

export function verifyContent(content: Uint8Array, signatureBase64: string, publicKey: KeyObject): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureBase64)) return false;
  try {
    return verify('sha256', content, publicKey, Buffer.from(signatureBase64, 'base64'));
  } catch {
    // A signature of the wrong length or a key of the wrong kind: not a valid signature.
    return false;
  }
}

/**
 * The Signature header value. encodeURIComponent matches Java's URLEncoder, Python's quote_plus
 * and Go's QueryEscape on the base64 alphabet: only + / = change (to %2B %2F %3D).
 */
export function formatSignatureHeader(keyVersion: string, signatureBase64: string): string {
  return `algorithm=${SIGNATURE_ALGORITHM},keyVersion=${keyVersion},signature=${encodeURIComponent(signatureBase64)}`;
}

interface ParsedSignatureHeader {
  readonly algorithm?: string;
  readonly keyVersion?: string;
  /** URL-decoded: plain base64. */
  readonly signature: string;
}

/**
 * Reads `algorithm=RSA256,keyVersion=1,signature=...` in any order, with or without the spaces
 * the docs' examples put after commas. The encoded value holds no `,` or `=`, so splitting on
 * them is safe; a `+` is left alone (decodeURIComponent), which also accepts a raw base64 value.
 */
export function parseSignatureHeader(value: string): ParsedSignatureHeader | undefined {
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const encoded = fields.get('signature');
  if (!encoded) return undefined;
  let signature: string;
  try {
    signature = decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
  return { signature, algorithm: fields.get('algorithm'), keyVersion: fields.get('keyVersion') };
}

/** Signs a request (or, on the sandbox's side, a response) and returns the Signature header. */
export function signatureHeaderFor(input: {
  path: string;
  clientId: string;
  time: string;
  body: Uint8Array | string;
  privateKey: KeyObject;
  keyVersion: string;
}): string {
  const content = signingContent(input.path, input.clientId, input.time, input.body);
  return formatSignatureHeader(input.keyVersion, signContent(content, input.privateKey));
}

/** signatureHeaderFor, with the RSA operation off the event loop (the client's hot path). */
export async function signatureHeaderForAsync(input: Parameters<typeof signatureHeaderFor>[0]): Promise<string> {
  const content = signingContent(input.path, input.clientId, input.time, input.body);
  return formatSignatureHeader(input.keyVersion, await signContentAsync(content, input.privateKey));
}

/** Verifies a Signature header against the content it claims to sign. */
export function verifySignatureHeader(input: {
  header: string;
  path: string;
  clientId: string;
  time: string;
  body: Uint8Array | string;
  publicKey: KeyObject;
}): boolean {
  const parsed = parseSignatureHeader(input.header);
  if (!parsed) return false;
  if (parsed.algorithm !== undefined && parsed.algorithm !== SIGNATURE_ALGORITHM) return false;
  return verifyContent(signingContent(input.path, input.clientId, input.time, input.body), parsed.signature, input.publicKey);
}
