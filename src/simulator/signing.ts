import {
  createPrivateKey,
  createPublicKey,
  createSign,
  createVerify,
  generateKeyPairSync,
  sign as signOnPool,
  type KeyObject,
} from 'node:crypto';

/**
 * The sandbox's own implementation of Antom's signature scheme (docs/antom.md, "Signing"),
 * written apart from src/adapters/antom/signature.ts on purpose: a misreading of the spec in one
 * is not mirrored in the other, and both are checked against the openssl command line.
 *
 * Where the spec leaves room, this side is the strict one, like the Java SDK Antom runs:
 * the signature value is URL-decoded as Java's URLDecoder does (a raw `+` becomes a space, so a
 * client that forgets to URL-encode fails here as it would at Antom), and the algorithm must be
 * RSA256.
 */

export interface SandboxKeys {
  readonly privateKey: KeyObject;
  /** base64 SPKI DER: what the service is given as ANTOM_PUBLIC_KEY. */
  readonly publicKeyBase64: string;
}

export function sandboxKeys(privateKeyText?: string): SandboxKeys {
  const privateKey =
    privateKeyText === undefined
      ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
      : readPrivateKey(privateKeyText);
  const publicKeyBase64 = createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');
  return { privateKey, publicKeyBase64 };
}

export function readPrivateKey(text: string): KeyObject {
  const t = text.trim();
  return t.startsWith('-----')
    ? createPrivateKey({ key: t, format: 'pem' })
    : createPrivateKey({ key: Buffer.from(t.replace(/\s/g, ''), 'base64'), format: 'der', type: 'pkcs8' });
}

export function readPublicKey(text: string): KeyObject {
  const t = text.trim();
  if (t.includes('PRIVATE KEY')) throw new Error('expected a public key, got a private key');
  return t.startsWith('-----')
    ? createPublicKey({ key: t, format: 'pem' })
    : createPublicKey({ key: Buffer.from(t.replace(/\s/g, ''), 'base64'), format: 'der', type: 'spki' });
}

/** "POST /path\nclientId.time.body", as one byte string. */
function contentOf(path: string, clientId: string, time: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from('POST ' + path + '\n' + clientId + '.' + time + '.', 'utf8'), body]);
}

/** The value of a `signature` header for `body` sent to/answered on `path`. */
export function signMessage(
  key: KeyObject,
  keyVersion: string,
  path: string,
  clientId: string,
  time: string,
  body: Buffer,
): string {
  const signer = createSign('RSA-SHA256');
  signer.update(contentOf(path, clientId, time, body));
  const base64 = signer.sign(key, 'base64');
  return 'algorithm=RSA256,keyVersion=' + keyVersion + ',signature=' + javaUrlEncode(base64);
}

/**
 * signMessage with the RSA operation on libuv's thread pool: at ~0.9 ms of CPU per RSA-2048
 * signature, signing every answer on the event loop would cap the sandbox at one core.
 */
export function signMessageAsync(
  key: KeyObject,
  keyVersion: string,
  path: string,
  clientId: string,
  time: string,
  body: Buffer,
): Promise<string> {
  return new Promise((resolve, reject) => {
    signOnPool('RSA-SHA256', contentOf(path, clientId, time, body), key, (err, signature) => {
      if (err) reject(err);
      else resolve('algorithm=RSA256,keyVersion=' + keyVersion + ',signature=' + javaUrlEncode(signature.toString('base64')));
    });
  });
}

export type SignatureCheck = { ok: true } | { ok: false; problem: string };

/** Checks a `signature` header the way Antom's gateway is documented to. */
export function checkMessage(
  key: KeyObject,
  header: string,
  path: string,
  clientId: string,
  time: string,
  body: Buffer,
): SignatureCheck {
  const items: Record<string, string> = {};
  for (const item of header.split(',')) {
    const at = item.indexOf('=');
    if (at > 0) items[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  if (items.algorithm !== 'RSA256') return { ok: false, problem: `algorithm must be RSA256, got ${items.algorithm ?? 'none'}` };
  const encoded = items.signature;
  if (!encoded) return { ok: false, problem: 'no signature= in the signature header' };
  let base64: string;
  try {
    base64 = javaUrlDecode(encoded);
  } catch {
    return { ok: false, problem: 'signature is not URL-encoded correctly' };
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) {
    return { ok: false, problem: 'signature is not URL-encoded base64' };
  }
  const verifier = createVerify('RSA-SHA256');
  verifier.update(contentOf(path, clientId, time, body));
  return verifier.verify(key, base64, 'base64') ? { ok: true } : { ok: false, problem: 'signature does not verify' };
}

/** java.net.URLEncoder on the base64 alphabet: only + / = are escaped. */
function javaUrlEncode(text: string): string {
  return text.replace(/[+/=]/g, (c) => (c === '+' ? '%2B' : c === '/' ? '%2F' : '%3D'));
}

/** java.net.URLDecoder: `+` is a space, %XX is a byte. */
function javaUrlDecode(text: string): string {
  return decodeURIComponent(text.replace(/\+/g, ' '));
}
