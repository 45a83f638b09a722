import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateAntomKeyPair,
  loadPrivateKey,
  parsePrivateKey,
  parsePublicKey,
  publicKeyOf,
} from '../../../src/adapters/antom/keys.js';
import { signContent, verifyContent } from '../../../src/adapters/antom/signature.js';
import { ConfigError } from '../../../src/domain/errors.js';
import { opensslKeys, opensslVerify, type OpensslKeys } from './openssl.js';

let keys: OpensslKeys;
beforeAll(() => {
  keys = opensslKeys();
});
afterAll(() => keys.cleanup());

describe('key formats', () => {
  it('reads every form of the same private key: base64 PKCS#8 DER, PKCS#8 PEM, PKCS#1 PEM, wrapped base64', () => {
    const forms = [
      keys.privateDerBase64,
      keys.privatePem,
      keys.privatePkcs1Pem,
      keys.privateDerBase64.replace(/(.{64})/g, '$1\n'),
      `  ${keys.privateDerBase64}\n`,
    ];
    const publicKeys = forms.map((form) => publicKeyOf(loadPrivateKey(form)));
    expect(new Set(publicKeys)).toEqual(new Set([keys.publicDerBase64]));
  });

  it('reads the public key as base64 SPKI DER and as PEM', () => {
    for (const form of [keys.publicDerBase64, keys.publicPem]) {
      const key = parsePublicKey(form);
      expect(typeof key).not.toBe('string');
    }
  });

  it('says what is wrong, naming the setting', () => {
    expect(parsePrivateKey('', 'ANTOM_PRIVATE_KEY')).toBe('ANTOM_PRIVATE_KEY is empty');
    expect(parsePrivateKey('not a key!', 'ANTOM_PRIVATE_KEY')).toBe('ANTOM_PRIVATE_KEY is not a base64 PKCS#8 RSA private key, nor a PEM one');
    expect(parsePrivateKey(keys.publicDerBase64)).toMatch(/not a base64 PKCS#8 RSA private key/);
    expect(parsePrivateKey(keys.publicPem)).toMatch(/PEM block but not a private key/);
    expect(parsePublicKey(keys.privateDerBase64)).toMatch(/ANTOM_PUBLIC_KEY is not a base64 SPKI/);
    expect(parsePublicKey(keys.privatePem)).toBe('ANTOM_PUBLIC_KEY holds a private key; it must be a public key');
  });

  it('refuses keys that are not RSA-2048 or better', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(parsePrivateKey(ec.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'))).toMatch(/must be an RSA private key, got ec/);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(parsePublicKey(small.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'))).toMatch(/1024-bit RSA key/);
  });

  it('throws a ConfigError from load*, without the key in the message', () => {
    expect(() => loadPrivateKey('bm90IGEga2V5')).toThrow(ConfigError);
    try {
      loadPrivateKey(keys.publicPem);
    } catch (err) {
      expect((err as Error).message).not.toContain(keys.publicDerBase64.slice(0, 40));
    }
  });
});

describe('generateAntomKeyPair', () => {
  it('makes an RSA-2048 pair in both formats that openssl-independent code and openssl agree on', () => {
    const pair = generateAntomKeyPair();
    const privateKey = loadPrivateKey(pair.privateKey);
    expect(privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(publicKeyOf(loadPrivateKey(pair.privateKeyPem))).toBe(pair.publicKey);
    expect(pair.privateKey).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(pair.publicKeyPem).toContain('-----BEGIN PUBLIC KEY-----');
    const content = Buffer.from('POST /v2/payments/inquiryRefund\nc.1.{}');
    const publicKey = parsePublicKey(pair.publicKey);
    if (typeof publicKey === 'string') throw new Error(publicKey);
    expect(verifyContent(content, signContent(content, privateKey), publicKey)).toBe(true);
  });

  it('a signature with an openssl-made key verifies with openssl', () => {
    const content = Buffer.from('POST /x\ny.z.{}');
    expect(opensslVerify(keys, content, signContent(content, loadPrivateKey(keys.privateDerBase64)))).toBe(true);
  });
});
