/**
 * The openssl command line as the independent judge of our signatures: keys it generates, bytes
 * it signs and verifies. Nothing here goes through node:crypto.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OpensslKeys {
  readonly dir: string;
  readonly privatePemFile: string;
  readonly publicPemFile: string;
  /** base64 PKCS#8 DER, as Antom hands out private keys. */
  readonly privateDerBase64: string;
  /** base64 SPKI DER, as Antom hands out public keys. */
  readonly publicDerBase64: string;
  readonly privatePem: string;
  readonly publicPem: string;
  /** The traditional `BEGIN RSA PRIVATE KEY` (PKCS#1) form. */
  readonly privatePkcs1Pem: string;
  cleanup(): void;
}

function openssl(args: string[], input?: Buffer): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function opensslKeys(): OpensslKeys {
  const dir = mkdtempSync(join(tmpdir(), 'antom-openssl-'));
  const privatePemFile = join(dir, 'private.pem');
  const publicPemFile = join(dir, 'public.pem');
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', privatePemFile]);
  openssl(['pkey', '-in', privatePemFile, '-pubout', '-out', publicPemFile]);
  const privateDer = openssl(['pkcs8', '-topk8', '-nocrypt', '-in', privatePemFile, '-outform', 'DER']);
  const publicDer = openssl(['pkey', '-in', privatePemFile, '-pubout', '-outform', 'DER']);
  // OpenSSL 3 writes PKCS#1 with -traditional.
  const pkcs1 = openssl(['pkey', '-in', privatePemFile, '-traditional']);
  return {
    dir,
    privatePemFile,
    publicPemFile,
    privateDerBase64: privateDer.toString('base64'),
    publicDerBase64: publicDer.toString('base64'),
    privatePem: readFileSync(privatePemFile, 'utf8'),
    publicPem: readFileSync(publicPemFile, 'utf8'),
    privatePkcs1Pem: pkcs1.toString('utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `openssl dgst -sha256 -sign`: base64 of the RSA PKCS#1 v1.5 signature of `content`. */
export function opensslSign(keys: OpensslKeys, content: Buffer): string {
  const contentFile = join(keys.dir, 'content-to-sign.bin');
  writeFileSync(contentFile, content);
  return openssl(['dgst', '-sha256', '-sign', keys.privatePemFile, contentFile]).toString('base64');
}

/** `openssl dgst -sha256 -verify`: true when openssl prints "Verified OK". */
export function opensslVerify(keys: OpensslKeys, content: Buffer, signatureBase64: string): boolean {
  const contentFile = join(keys.dir, 'content-to-verify.bin');
  const signatureFile = join(keys.dir, 'signature.bin');
  writeFileSync(contentFile, content);
  writeFileSync(signatureFile, Buffer.from(signatureBase64, 'base64'));
  try {
    const out = openssl(['dgst', '-sha256', '-verify', keys.publicPemFile, '-signature', signatureFile, contentFile]);
    return out.toString().includes('Verified OK');
  } catch {
    return false;
  }
}

/**
 * The string Antom signs, built here by hand from the spec (docs/antom.md, "Signing") rather than
 * by the code under test: "POST <path>\n<client-id>.<time>.<body>".
 */
export function specContent(path: string, clientId: string, time: string, body: string): Buffer {
  return Buffer.from(`POST ${path}\n${clientId}.${time}.${body}`, 'utf8');
}

/** The signature value out of a header, decoded as the spec says: after `signature=`, URL-decoded. */
export function signatureValue(header: string): string {
  const encoded = header.slice(header.indexOf('signature=') + 'signature='.length);
  return decodeURIComponent(encoded);
}
