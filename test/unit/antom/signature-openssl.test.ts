import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPrivateKey, loadPublicKey } from '../../../src/adapters/antom/keys.js';
import {
  formatSignatureHeader,
  parseSignatureHeader,
  signatureHeaderFor,
  signContent,
  signingContent,
  verifySignatureHeader,
} from '../../../src/adapters/antom/signature.js';
import { checkMessage, readPrivateKey, readPublicKey, signMessage } from '../../../src/simulator/signing.js';
import { opensslKeys, opensslSign, opensslVerify, signatureValue, specContent, type OpensslKeys } from './openssl.js';

// Both implementations (the client's and the sandbox's) against the openssl command line, in both
// directions: merchant -> Antom (requests) and Antom -> merchant (answers, notifications).
// The body holds non-ASCII text and the path a query string: the bytes signed must be the UTF-8
// bytes sent, and the path must be the whole request URI.

const PATH = '/ams/sandbox/api/v1/payments/inquiryRefund?trace=a%2Fb';
const CLIENT_ID = 'SANDBOX_5X00000000000000';
const TIME = '1685599933871';
const BODY = '{"refundId":"2026000111","note":"remboursé 退款 ✓"}';

let merchant: OpensslKeys;
let antom: OpensslKeys;

beforeAll(() => {
  merchant = opensslKeys();
  antom = opensslKeys();
});
afterAll(() => {
  merchant.cleanup();
  antom.cleanup();
});

describe('request direction (merchant signs, Antom verifies)', () => {
  it('a request signed by the client verifies with openssl', () => {
    const header = signatureHeaderFor({
      path: PATH,
      clientId: CLIENT_ID,
      time: TIME,
      body: Buffer.from(BODY, 'utf8'),
      privateKey: loadPrivateKey(merchant.privateDerBase64),
      keyVersion: '1',
    });
    expect(header).toMatch(/^algorithm=RSA256,keyVersion=1,signature=[A-Za-z0-9%]+$/);
    expect(opensslVerify(merchant, specContent(PATH, CLIENT_ID, TIME, BODY), signatureValue(header))).toBe(true);
  });

  it('the client signs exactly what openssl signs (PKCS#1 v1.5 is deterministic)', () => {
    const ours = signContent(signingContent(PATH, CLIENT_ID, TIME, BODY), loadPrivateKey(merchant.privateDerBase64));
    expect(ours).toBe(opensslSign(merchant, specContent(PATH, CLIENT_ID, TIME, BODY)));
  });

  it('a request signed by openssl verifies with the sandbox and with the client code', () => {
    const header = `algorithm=RSA256,keyVersion=1,signature=${encodeURIComponent(opensslSign(merchant, specContent(PATH, CLIENT_ID, TIME, BODY)))}`;
    const body = Buffer.from(BODY, 'utf8');
    expect(checkMessage(readPublicKey(merchant.publicDerBase64), header, PATH, CLIENT_ID, TIME, body)).toEqual({ ok: true });
    expect(
      verifySignatureHeader({ header, path: PATH, clientId: CLIENT_ID, time: TIME, body, publicKey: loadPublicKey(merchant.publicPem) }),
    ).toBe(true);
  });

  it('a request signed by the sandbox code verifies with openssl', () => {
    const header = signMessage(readPrivateKey(merchant.privatePem), '1', PATH, CLIENT_ID, TIME, Buffer.from(BODY, 'utf8'));
    expect(opensslVerify(merchant, specContent(PATH, CLIENT_ID, TIME, BODY), signatureValue(header))).toBe(true);
  });

  it('the sandbox refuses a signature over other bytes, another path, time or client id', () => {
    const header = `algorithm=RSA256,keyVersion=1,signature=${encodeURIComponent(opensslSign(merchant, specContent(PATH, CLIENT_ID, TIME, BODY)))}`;
    const key = readPublicKey(merchant.publicDerBase64);
    const body = Buffer.from(BODY, 'utf8');
    expect(checkMessage(key, header, PATH, CLIENT_ID, TIME, Buffer.from(BODY.replace('✓', 'x'), 'utf8')).ok).toBe(false);
    expect(checkMessage(key, header, '/ams/sandbox/api/v1/payments/inquiryRefund', CLIENT_ID, TIME, body).ok).toBe(false);
    expect(checkMessage(key, header, PATH, CLIENT_ID, '1685599933872', body).ok).toBe(false);
    expect(checkMessage(key, header, PATH, 'SANDBOX_OTHER', TIME, body).ok).toBe(false);
  });

  it('the sandbox refuses a base64 value that was not URL-encoded, as Java URLDecoder would', () => {
    // Find a signature containing '+', which URLDecoder turns into a space.
    let body = BODY;
    let raw = opensslSign(merchant, specContent(PATH, CLIENT_ID, TIME, body));
    for (let i = 0; !raw.includes('+'); i += 1) {
      body = `${BODY} ${i}`;
      raw = opensslSign(merchant, specContent(PATH, CLIENT_ID, TIME, body));
    }
    const check = checkMessage(readPublicKey(merchant.publicPem), `algorithm=RSA256,keyVersion=1,signature=${raw}`, PATH, CLIENT_ID, TIME, Buffer.from(body));
    expect(check.ok).toBe(false);
  });
});

describe('response direction (Antom signs, merchant verifies)', () => {
  const RESPONSE_TIME = '2026-11-25T10:00:00Z';
  const ANSWER = '{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"},"refundStatus":"SUCCESS","memo":"été"}';

  it('an answer signed by openssl verifies with the client', () => {
    const header = `algorithm=RSA256, keyVersion=2, signature=${encodeURIComponent(opensslSign(antom, specContent(PATH, CLIENT_ID, RESPONSE_TIME, ANSWER)))}`;
    for (const publicKey of [loadPublicKey(antom.publicDerBase64), loadPublicKey(antom.publicPem)]) {
      expect(
        verifySignatureHeader({ header, path: PATH, clientId: CLIENT_ID, time: RESPONSE_TIME, body: Buffer.from(ANSWER, 'utf8'), publicKey }),
      ).toBe(true);
    }
  });

  it('the client refuses an openssl-signed answer whose body was altered', () => {
    const header = formatSignatureHeader('1', opensslSign(antom, specContent(PATH, CLIENT_ID, RESPONSE_TIME, ANSWER)));
    const altered = ANSWER.replace('"SUCCESS","resultStatus"', '"SUCCESS" ,"resultStatus"');
    expect(
      verifySignatureHeader({ header, path: PATH, clientId: CLIENT_ID, time: RESPONSE_TIME, body: altered, publicKey: loadPublicKey(antom.publicDerBase64) }),
    ).toBe(false);
  });

  it('the client refuses a signature made with another key', () => {
    const header = formatSignatureHeader('1', opensslSign(merchant, specContent(PATH, CLIENT_ID, RESPONSE_TIME, ANSWER)));
    expect(
      verifySignatureHeader({ header, path: PATH, clientId: CLIENT_ID, time: RESPONSE_TIME, body: ANSWER, publicKey: loadPublicKey(antom.publicDerBase64) }),
    ).toBe(false);
  });

  it('an answer signed by the sandbox code verifies with openssl', () => {
    const header = signMessage(readPrivateKey(antom.privateDerBase64), '1', PATH, CLIENT_ID, RESPONSE_TIME, Buffer.from(ANSWER, 'utf8'));
    expect(opensslVerify(antom, specContent(PATH, CLIENT_ID, RESPONSE_TIME, ANSWER), signatureValue(header))).toBe(true);
  });

  it('an answer signed by the client code verifies with openssl (and the two codes agree)', () => {
    const ours = signatureHeaderFor({
      path: PATH,
      clientId: CLIENT_ID,
      time: RESPONSE_TIME,
      body: ANSWER,
      privateKey: loadPrivateKey(antom.privatePkcs1Pem),
      keyVersion: '1',
    });
    const sandbox = signMessage(readPrivateKey(antom.privatePem), '1', PATH, CLIENT_ID, RESPONSE_TIME, Buffer.from(ANSWER, 'utf8'));
    expect(opensslVerify(antom, specContent(PATH, CLIENT_ID, RESPONSE_TIME, ANSWER), signatureValue(ours))).toBe(true);
    expect(ours).toBe(sandbox);
  });
});

describe('signature header', () => {
  it('URL-encodes exactly the base64 characters + / =', () => {
    expect(formatSignatureHeader('1', 'ab+c/d==')).toBe('algorithm=RSA256,keyVersion=1,signature=ab%2Bc%2Fd%3D%3D');
  });

  it('reads the docs form (spaces after commas) and any field order', () => {
    expect(parseSignatureHeader('algorithm=RSA256, keyVersion=3, signature=ab%2Bc%3D')).toEqual({
      algorithm: 'RSA256',
      keyVersion: '3',
      signature: 'ab+c=',
    });
    expect(parseSignatureHeader('signature=xy%2F,algorithm=RSA256')).toEqual({ algorithm: 'RSA256', signature: 'xy/' });
  });

  it('has nothing to read without a signature value', () => {
    expect(parseSignatureHeader('algorithm=RSA256,keyVersion=1')).toBeUndefined();
    expect(parseSignatureHeader('algorithm=RSA256,keyVersion=1,signature=%E0%A4%A')).toBeUndefined();
  });
});
