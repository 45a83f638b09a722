import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ConfigError } from '../../domain/errors.js';

/**
 * Antom's key formats (docs/antom.md, "Signing"): the merchant private key is base64 of PKCS#8
 * DER and Antom's public key base64 of X.509 SubjectPublicKeyInfo DER, both without PEM armour.
 * PEM is accepted too, since that is what openssl and most vaults hand out. Keys are parsed once
 * into KeyObjects: parsing costs far more than a signature.
 */

/** Antom issues RSA-2048 keys; anything shorter is refused rather than silently weak. */
const MIN_MODULUS_BITS = 2048;

export interface AntomKeyPair {
  /** base64 PKCS#8 DER: ANTOM_PRIVATE_KEY. */
  readonly privateKey: string;
  /** base64 SPKI DER: what is uploaded to the Antom Dashboard (or given to the sandbox). */
  readonly publicKey: string;
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

export function generateAntomKeyPair(): AntomKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  return {
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** Parses a private key, or throws a ConfigError naming the setting and what is wrong. */
export function loadPrivateKey(text: string, settingName = 'ANTOM_PRIVATE_KEY'): KeyObject {
  const result = parsePrivateKey(text, settingName);
  if (typeof result === 'string') throw new ConfigError([result]);
  return result;
}

/** Parses a public key, or throws a ConfigError naming the setting and what is wrong. */
export function loadPublicKey(text: string, settingName = 'ANTOM_PUBLIC_KEY'): KeyObject {
  const result = parsePublicKey(text, settingName);
  if (typeof result === 'string') throw new ConfigError([result]);
  return result;
}

/** A KeyObject, or the problem as a sentence an operator can act on. */
export function parsePrivateKey(text: string, settingName = 'ANTOM_PRIVATE_KEY'): KeyObject | string {
  const trimmed = text.trim();
  if (trimmed === '') return `${settingName} is empty`;
  let key: KeyObject;
  try {
    if (trimmed.includes('-----BEGIN')) {
      if (trimmed.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
        return `${settingName} is an encrypted PEM; give the key unencrypted (from a secret file)`;
      }
      if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(trimmed)) {
        return `${settingName} is a PEM block but not a private key (is this the public key?)`;
      }
      key = createPrivateKey(trimmed);
    } else {
      key = createPrivateKey({ key: base64Der(trimmed), format: 'der', type: 'pkcs8' });
    }
  } catch {
    return `${settingName} is not a base64 PKCS#8 RSA private key, nor a PEM one`;
  }
  return checkRsa(key, settingName, 'private');
}

export function parsePublicKey(text: string, settingName = 'ANTOM_PUBLIC_KEY'): KeyObject | string {
  const trimmed = text.trim();
  if (trimmed === '') return `${settingName} is empty`;
  let key: KeyObject;
  try {
    if (trimmed.includes('-----BEGIN')) {
      // createPublicKey would happily derive a public key from a private PEM: a merchant private
      // key pasted here would then "work" while verifying nothing Antom signed.
      if (/PRIVATE KEY-----/.test(trimmed)) return `${settingName} holds a private key; it must be a public key`;
      key = createPublicKey(trimmed);
    } else {
      key = createPublicKey({ key: base64Der(trimmed), format: 'der', type: 'spki' });
    }
  } catch {
    return `${settingName} is not a base64 SPKI (X.509) RSA public key, nor a PEM one`;
  }
  return checkRsa(key, settingName, 'public');
}

/** base64 SPKI DER of the public half of a private key (for `keys` and the sandbox's printout). */
export function publicKeyOf(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64');
}

function base64Der(text: string): Buffer {
  // Keys pasted from the Dashboard or a vault often carry line breaks; base64 never has spaces.
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw new Error('not base64');
  return Buffer.from(compact, 'base64');
}

function checkRsa(key: KeyObject, settingName: string, kind: 'private' | 'public'): KeyObject | string {
  if (key.asymmetricKeyType !== 'rsa') {
    return `${settingName} must be an RSA ${kind} key, got ${key.asymmetricKeyType ?? 'an unknown type'}`;
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_MODULUS_BITS) return `${settingName} is a ${bits}-bit RSA key; Antom uses ${MIN_MODULUS_BITS}-bit keys`;
  return key;
}
