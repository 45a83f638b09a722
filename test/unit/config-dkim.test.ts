import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mailerSettings } from '../../src/composition/settings.js';
import { loadConfig } from '../../src/config/load.js';
import { describeConfig } from '../../src/config/print.js';
import { ConfigError } from '../../src/domain/errors.js';

/**
 * EMAIL_DKIM_DOMAIN, EMAIL_DKIM_SELECTOR and EMAIL_DKIM_PRIVATE_KEY (docs/configuration.md,
 * docs/notifications.md "Deliverability"): each way to get them wrong stops the start with a
 * message naming the setting and what to do; one test per message.
 */
const repoConfig = join(import.meta.dirname, '../../config');

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig({ env: { CONFIG_DIR: repoConfig, ...env } });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

const pem = (key: { export(options: { format: 'pem'; type: 'pkcs8' }): string | Buffer }) => key.export({ format: 'pem', type: 'pkcs8' }).toString();
const rsa2048 = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
const FROM = 'Acme Refunds <refunds@mail.acme.example>';
const valid = { EMAIL_FROM: FROM, EMAIL_DKIM_DOMAIN: 'acme.example', EMAIL_DKIM_SELECTOR: 'refunds2025', EMAIL_DKIM_PRIVATE_KEY: rsa2048 };

describe('DKIM settings', () => {
  it('signs with all three set: the domain is EMAIL_FROM\'s or a parent of it, the key read from a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rn-dkim-'));
    writeFileSync(join(dir, 'dkim.pem'), `${rsa2048}\n`);
    const { EMAIL_DKIM_PRIVATE_KEY: _key, ...rest } = valid;
    const config = loadConfig({ env: { CONFIG_DIR: repoConfig, ...rest, EMAIL_DKIM_PRIVATE_KEY_FILE: join(dir, 'dkim.pem'), SMTP_URL: 'smtp://mail:25' } });
    expect(mailerSettings(config.values)).toEqual({
      smtpUrl: 'smtp://mail:25',
      from: FROM,
      dkim: { domain: 'acme.example', selector: 'refunds2025', privateKey: rsa2048.trim() },
    });
    expect(config.sources.EMAIL_DKIM_PRIVATE_KEY).toBe('file');
    // The From domain itself, any case, a root dot: all the same domain.
    expect(loadConfig({ env: { CONFIG_DIR: repoConfig, ...valid, EMAIL_DKIM_DOMAIN: 'Mail.Acme.Example.', SMTP_URL: 'smtp://mail:25' } }).values.EMAIL_DKIM_DOMAIN).toBe('mail.acme.example');
    // A PKCS#1 key (BEGIN RSA PRIVATE KEY) is as good, and a dotted selector is one RFC 6376 allows.
    const pkcs1 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
    expect(problemsOf({ ...valid, EMAIL_DKIM_PRIVATE_KEY: pkcs1, EMAIL_DKIM_SELECTOR: '2025.refunds' })).toEqual([]);
  });

  it('signs nothing with none of them set (the shipped default)', () => {
    const config = loadConfig({ env: { CONFIG_DIR: repoConfig, SMTP_URL: 'smtp://mail:25' } });
    expect(mailerSettings(config.values)).toEqual({ smtpUrl: 'smtp://mail:25', from: 'Refunds <refunds@example.com>' });
  });

  it('shows the key masked in config check, by its length only', () => {
    const text = describeConfig(loadConfig({ env: { CONFIG_DIR: repoConfig, ...valid } })).join('\n');
    expect(text).not.toContain(rsa2048.split('\n')[1]!);
    expect(text).toMatch(/EMAIL_DKIM_PRIVATE_KEY\s+= \*\*\*\* \(set, \d+ characters\)/);
    expect(text).toMatch(/EMAIL_DKIM_DOMAIN\s+= acme\.example/);
  });

  it('all or none: a domain without its selector and key', () => {
    expect(problemsOf({ EMAIL_FROM: FROM, EMAIL_DKIM_DOMAIN: 'acme.example' })).toEqual([
      'EMAIL_DKIM_SELECTOR is required with EMAIL_DKIM_DOMAIN: DKIM signing needs EMAIL_DKIM_DOMAIN, EMAIL_DKIM_SELECTOR and EMAIL_DKIM_PRIVATE_KEY (or _FILE) together, or none of them',
      'EMAIL_DKIM_PRIVATE_KEY is required with EMAIL_DKIM_DOMAIN: DKIM signing needs EMAIL_DKIM_DOMAIN, EMAIL_DKIM_SELECTOR and EMAIL_DKIM_PRIVATE_KEY (or _FILE) together, or none of them',
    ]);
  });

  it('all or none: a key whose file cannot be read is reported once, as unreadable, not as missing', () => {
    const { EMAIL_DKIM_PRIVATE_KEY: _key, ...rest } = valid;
    expect(problemsOf({ ...rest, EMAIL_DKIM_PRIVATE_KEY_FILE: '/nonexistent/dkim.pem' })).toEqual([
      'EMAIL_DKIM_PRIVATE_KEY_FILE: cannot read /nonexistent/dkim.pem (ENOENT)',
    ]);
  });

  it('the domain must be a domain name', () => {
    expect(problemsOf({ ...valid, EMAIL_DKIM_DOMAIN: 'https://acme.example' })).toEqual([
      'EMAIL_DKIM_DOMAIN must be a domain name such as example.com (an internationalised one in its xn-- form), got "https://acme.example"',
    ]);
    expect(problemsOf({ ...valid, EMAIL_DKIM_DOMAIN: 'localhost' })).toHaveLength(1);
  });

  it('the domain must be aligned with EMAIL_FROM (DMARC): the From domain or a parent, not a sibling or another domain', () => {
    const message = (domain: string) =>
      `EMAIL_DKIM_DOMAIN (${domain}) must be EMAIL_FROM's domain (mail.acme.example) or a parent of it: receivers count a DKIM signature for DMARC only when its domain is aligned with the From address, so an unaligned signature does not help the email through`;
    expect(problemsOf({ ...valid, EMAIL_DKIM_DOMAIN: 'esp.example' })).toEqual([message('esp.example')]);
    expect(problemsOf({ ...valid, EMAIL_DKIM_DOMAIN: 'news.acme.example' })).toEqual([message('news.acme.example')]);
    // Not a parent by label: "cme.example" is not a parent of "mail.acme.example".
    expect(problemsOf({ ...valid, EMAIL_DKIM_DOMAIN: 'cme.example' })).toEqual([message('cme.example')]);
  });

  it('the selector must be a DNS label', () => {
    expect(problemsOf({ ...valid, EMAIL_DKIM_SELECTOR: 'refunds_2025' })).toEqual([
      'EMAIL_DKIM_SELECTOR must be a DNS label such as refunds2025 (letters, digits and inner hyphens; dot-separated labels are allowed), got "refunds_2025"',
    ]);
    expect(problemsOf({ ...valid, EMAIL_DKIM_SELECTOR: '-refunds' })).toHaveLength(1);
    expect(problemsOf({ ...valid, EMAIL_DKIM_SELECTOR: 'refunds._domainkey' })).toHaveLength(1);
  });

  it('the key must be PEM', () => {
    const der = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    expect(problemsOf({ ...valid, EMAIL_DKIM_PRIVATE_KEY: der })).toEqual([
      'EMAIL_DKIM_PRIVATE_KEY must be a PEM private key (-----BEGIN PRIVATE KEY-----), as written by openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048; set it from a file with EMAIL_DKIM_PRIVATE_KEY_FILE',
    ]);
  });

  it('the key must be readable', () => {
    expect(problemsOf({ ...valid, EMAIL_DKIM_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----' })).toEqual([
      'EMAIL_DKIM_PRIVATE_KEY is not a PEM private key that can be read (-----BEGIN PRIVATE KEY----- … -----END PRIVATE KEY-----, as openssl genpkey writes it)',
    ]);
  });

  it('the key must not be encrypted', () => {
    const encrypted = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'secret' })
      .toString();
    expect(problemsOf({ ...valid, EMAIL_DKIM_PRIVATE_KEY: encrypted })).toEqual([
      'EMAIL_DKIM_PRIVATE_KEY is encrypted with a passphrase: give the key unencrypted (keep it in a secret file, EMAIL_DKIM_PRIVATE_KEY_FILE)',
    ]);
  });

  it('the key must be RSA: an Ed25519 key is refused, as the mailer cannot sign with it', () => {
    expect(problemsOf({ ...valid, EMAIL_DKIM_PRIVATE_KEY: pem(generateKeyPairSync('ed25519').privateKey) })).toEqual([
      'EMAIL_DKIM_PRIVATE_KEY is an Ed25519 key: the mailer signs with rsa-sha256 only (nodemailer), so use an RSA key of 2048 bits',
    ]);
  });

  it('the key must be RSA: an EC key is refused', () => {
    expect(problemsOf({ ...valid, EMAIL_DKIM_PRIVATE_KEY: pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey) })).toEqual([
      'EMAIL_DKIM_PRIVATE_KEY must be an RSA private key, got ec (generate one with openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048)',
    ]);
  });

  it('the key must have 1024 bits at least (RFC 8301); 1024 is accepted', () => {
    expect(problemsOf({ ...valid, EMAIL_DKIM_PRIVATE_KEY: pem(generateKeyPairSync('rsa', { modulusLength: 768 }).privateKey) })).toEqual([
      'EMAIL_DKIM_PRIVATE_KEY is a 768-bit RSA key: receivers ignore DKIM signatures from keys under 1024 bits (RFC 8301); use 2048 bits',
    ]);
    expect(problemsOf({ ...valid, EMAIL_DKIM_PRIVATE_KEY: pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey) })).toEqual([]);
  });
});
