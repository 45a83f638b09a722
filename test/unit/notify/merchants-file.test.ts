import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  NO_MERCHANTS,
  brandFor,
  contrastWithWhite,
  loadMerchants,
  merchantsFilePath,
  parseMerchantsFile,
  type MerchantsLoadOptions,
} from '../../../src/config/merchants.js';
import { ConfigError } from '../../../src/domain/errors.js';

/**
 * merchants.yaml (docs/notifications.md, "The merchant's brand"): a full file, the resolution of a
 * refund's brand, and one test per problem the loader reports, each with its line and path.
 */

function problems(yaml: string, options: MerchantsLoadOptions = {}): readonly string[] {
  return parseMerchantsFile(yaml, 'merchants.yaml', options).problems;
}

/** A file with one merchant M-1 whose `field` is `value` (quoted as YAML), on line 3. */
function oneField(field: string, value: string): string {
  return `merchants:\n  M-1:\n    ${field}: ${value}\n`;
}

const FULL = `# every field, two merchants and a default
version: 1
key: merchantAccountId
default:
  displayName: Refunds at Platform
  replyTo: help@platform.example
merchants:
  M-ACME:
    displayName: Acme Store
    from: '"Acme Store" <refunds@acme.platform.example>'
    replyTo: Acme Support <support@acme.example>
    supportEmail: support@acme.example
    supportUrl: https://acme.example/help
    supportPhone: +1 (555) 010-0199
    logoUrl: https://cdn.acme.example/logo.png
    accentColor: '#B3261E'
  M-GLOBEX:
    displayName: Globex
    accentColor: '#06c'
`;

describe('a valid merchants.yaml', () => {
  it('reads every field, normalising the accent to lower-case #rrggbb', () => {
    const parsed = parseMerchantsFile(FULL, 'merchants.yaml', { dkimDomain: 'platform.example' });
    expect(parsed.problems).toEqual([]);
    const directory = parsed.directory!;
    expect(directory.key).toEqual({ kind: 'merchantAccountId' });
    expect(directory.merchants.get('M-ACME')).toEqual({
      displayName: 'Acme Store',
      from: '"Acme Store" <refunds@acme.platform.example>',
      replyTo: 'Acme Support <support@acme.example>',
      supportEmail: 'support@acme.example',
      supportUrl: 'https://acme.example/help',
      supportPhone: '+1 (555) 010-0199',
      logoUrl: 'https://cdn.acme.example/logo.png',
      accentColor: '#b3261e',
    });
    expect(directory.merchants.get('M-GLOBEX')).toEqual({ displayName: 'Globex', accentColor: '#0066cc' });
    expect(directory.fallback).toEqual({ displayName: 'Refunds at Platform', replyTo: 'help@platform.example' });
  });

  it('resolves a listed merchant to its own entry, an unlisted one to default:, and never mixes them', () => {
    const directory = parseMerchantsFile(FULL, 'merchants.yaml').directory!;
    expect(brandFor(directory, { merchantAccountId: 'M-ACME' }).displayName).toBe('Acme Store');
    // Globex gives no replyTo: it gets none (the service's default), not default:'s.
    expect(brandFor(directory, { merchantAccountId: 'M-GLOBEX' })).toEqual({ displayName: 'Globex', accentColor: '#0066cc' });
    expect(brandFor(directory, { merchantAccountId: 'M-OTHER' })).toEqual(directory.fallback);
    expect(brandFor(directory, {})).toEqual(directory.fallback);
    const noDefault = parseMerchantsFile('merchants:\n  M-1: { displayName: One }\n', 'merchants.yaml').directory!;
    expect(brandFor(noDefault, { merchantAccountId: 'M-2' })).toEqual({});
    expect(brandFor(NO_MERCHANTS, { merchantAccountId: 'M-1' })).toEqual({});
  });

  it('keys by a metadata field when key: says so (a string or a number there)', () => {
    const yaml = 'key: metadata.merchantId\nmerchants:\n  "42": { displayName: Answer }\n  shop-7: { displayName: Seven }\n';
    const directory = parseMerchantsFile(yaml, 'merchants.yaml').directory!;
    expect(directory.key).toEqual({ kind: 'metadata', field: 'merchantId' });
    expect(brandFor(directory, { merchantAccountId: 'shop-7', metadata: { merchantId: 42 } }).displayName).toBe('Answer');
    expect(brandFor(directory, { metadata: { merchantId: 'shop-7' } }).displayName).toBe('Seven');
    expect(brandFor(directory, { merchantAccountId: 'shop-7' })).toEqual({});
    expect(brandFor(directory, { metadata: { merchantId: { nested: true } } })).toEqual({});
  });

  it('an empty or all-comment file lists no merchant; no file means no merchants', () => {
    expect(parseMerchantsFile('', 'merchants.yaml').directory).toBe(NO_MERCHANTS);
    expect(parseMerchantsFile('# merchants:\n#   M-1: {}\n', 'merchants.yaml').directory).toBe(NO_MERCHANTS);
    const dir = mkdtempSync(join(tmpdir(), 'merchants-'));
    expect(merchantsFilePath(dir)).toBeUndefined();
    expect(loadMerchants(dir)).toBe(NO_MERCHANTS);
    writeFileSync(join(dir, 'merchants.yaml'), FULL);
    expect(merchantsFilePath(dir)).toBe(join(dir, 'merchants.yaml'));
    expect(loadMerchants(dir).merchants.size).toBe(2);
  });

  it('accepts the shortest forms: a bare sender, #rgb, an http support page, a loopback http logo', () => {
    const yaml = [
      'merchants:',
      '  M-1:',
      '    from: refunds@acme.example',
      '    accentColor: "#000"',
      '    supportUrl: http://help.acme.example/',
      '    logoUrl: http://127.0.0.1:8080/logo.png',
      '    supportPhone: "0800 123 4567"',
    ].join('\n');
    expect(problems(yaml)).toEqual([]);
  });
});

describe('problems, each with its line and path', () => {
  it('not YAML', () => {
    expect(problems('merchants:\n  M-1:\n    displayName: [Acme\n')).toEqual([expect.stringMatching(/^merchants\.yaml:\d: not valid YAML: /)]);
    expect(problems('merchants:\n\tM-1: {}\n')[0]).toMatch(/^merchants\.yaml:2: not valid YAML: /);
  });

  it('not a mapping', () => {
    expect(problems('- M-1\n- M-2\n')).toEqual(['merchants.yaml: expected a mapping with `merchants:` (and optionally `key:` and `default:`), got a list']);
    expect(problems('just text\n')).toEqual(['merchants.yaml: expected a mapping with `merchants:` (and optionally `key:` and `default:`), got a single value']);
    expect(problems('merchants: [M-1]\n')).toEqual(['merchants.yaml:1: merchants: must be a mapping of merchant ids to their brand']);
    expect(problems('merchants:\n  M-1: Acme\n')).toEqual(['merchants.yaml:2: merchants.M-1: must be a mapping of fields (displayName, from, replyTo, …)']);
  });

  it('a merchant listed twice', () => {
    expect(problems('merchants:\n  M-1: {}\n  M-1: {}\n')).toEqual([expect.stringMatching(/^merchants\.yaml:3: not valid YAML: Map keys must be unique/)]);
  });

  it('unknown keys, at the top and in an entry, with the known ones', () => {
    expect(problems('merchant:\n  M-1: {}\n')).toEqual(['merchants.yaml:1: merchant: unknown key "merchant" (known: version, key, default, merchants)']);
    expect(problems(oneField('logo', 'https://acme.example/l.png'))).toEqual([
      'merchants.yaml:3: merchants.M-1.logo: unknown key "logo" (known: displayName, from, replyTo, supportEmail, supportUrl, supportPhone, logoUrl, accentColor)',
    ]);
    expect(problems('default:\n  colour: "#000000"\n')).toEqual([expect.stringMatching(/^merchants\.yaml:2: default\.colour: unknown key "colour"/)]);
  });

  it('an unknown key: setting', () => {
    expect(problems('key: merchantId\n')).toEqual(['merchants.yaml:1: key: must be merchantAccountId or metadata.<field> (e.g. metadata.merchantId), got "merchantId"']);
  });

  it('an empty merchant id', () => {
    expect(problems('merchants:\n  "": { displayName: Nobody }\n')).toEqual(['merchants.yaml:2: merchants[""]: a merchant id must not be empty']);
    expect(problems('merchants:\n  " M-1": { displayName: Spaced }\n')).toEqual([
      'merchants.yaml:2: merchants[" M-1"]: a merchant id must not begin or end with spaces: it would match no refund',
    ]);
  });

  it('an empty displayName', () => {
    expect(problems(oneField('displayName', '"  "'))).toEqual([
      'merchants.yaml:3: merchants.M-1.displayName: must be a name such as Acme Store (leave the field out for the default)',
    ]);
  });

  it('a displayName too long', () => {
    expect(problems(oneField('displayName', 'x'.repeat(101)))).toEqual(['merchants.yaml:3: merchants.M-1.displayName: must be at most 100 characters, got 101']);
    expect(problems(oneField('displayName', 'x'.repeat(100)))).toEqual([]);
  });

  it('a displayName with a line break or a control character', () => {
    const message = 'merchants.yaml:3: merchants.M-1.displayName: must be one line of text, without line breaks or control characters';
    expect(problems(oneField('displayName', '"Acme\\nBcc: victim@example.com"'))).toEqual([message]);
    expect(problems(oneField('displayName', '"Acme\\u0007"'))).toEqual([message]);
    expect(problems(oneField('displayName', '"Acme\\u2028Store"'))).toEqual([message]);
  });

  it('a from that is not a sender', () => {
    expect(problems(oneField('from', 'Acme Store refunds.acme.example'))).toEqual([
      'merchants.yaml:3: merchants.M-1.from: must be an address or "Name <address>", got "Acme Store refunds.acme.example"',
    ]);
    // A line break in the display name would end the header and start another.
    expect(problems(oneField('from', '"Acme\\r\\nBcc: x@evil.example <refunds@acme.example>"'))).toEqual([
      expect.stringMatching(/^merchants\.yaml:3: merchants\.M-1\.from: must be on one line, without control characters/),
    ]);
  });

  it('a replyTo that is not an address', () => {
    expect(problems(oneField('replyTo', 'support at acme'))).toEqual(['merchants.yaml:3: merchants.M-1.replyTo: must be an address or "Name <address>", got "support at acme"']);
  });

  it('a supportEmail that is not an address', () => {
    expect(problems(oneField('supportEmail', 'Support <support@acme.example>'))).toEqual([
      'merchants.yaml:3: merchants.M-1.supportEmail: must be an email address, got "Support <support@acme.example>"',
    ]);
  });

  it('a logoUrl that is not an absolute https URL', () => {
    const at = 'merchants.yaml:3: merchants.M-1.logoUrl:';
    expect(problems(oneField('logoUrl', '/logo.png'))).toEqual([`${at} must be an absolute https URL, got "/logo.png"`]);
    expect(problems(oneField('logoUrl', 'http://acme.example/logo.png'))).toEqual([`${at} must use https (http only for a loopback host), got "http://acme.example/logo.png"`]);
    expect(problems(oneField('logoUrl', '"javascript:alert(1)"'))).toEqual([`${at} must be an https URL, got the javascript: scheme`]);
    expect(problems(oneField('logoUrl', '"data:image/png;base64,iVBORw0KGgo="'))).toEqual([`${at} must be an https URL, got the data: scheme`]);
    expect(problems(oneField('logoUrl', 'https://user:secret@acme.example/logo.png'))).toEqual([`${at} must not carry a user name or password: every recipient could read them`]);
  });

  it('a supportUrl that is not http(s)', () => {
    const at = 'merchants.yaml:3: merchants.M-1.supportUrl:';
    expect(problems(oneField('supportUrl', '"javascript:alert(1)"'))).toEqual([`${at} must be an http(s) URL, got the javascript: scheme`]);
    expect(problems(oneField('supportUrl', 'acme.example/help'))).toEqual([`${at} must be an absolute http(s) URL, got "acme.example/help"`]);
  });

  it('an accentColor that is not #rgb or #rrggbb', () => {
    expect(problems(oneField('accentColor', 'red'))).toEqual(['merchants.yaml:3: merchants.M-1.accentColor: must be a colour written #rgb or #rrggbb, got "red"']);
    expect(problems(oneField('accentColor', '"#12345"'))).toEqual(['merchants.yaml:3: merchants.M-1.accentColor: must be a colour written #rgb or #rrggbb, got "#12345"']);
  });

  it('an accentColor too light against white, with its contrast ratio', () => {
    expect(problems(oneField('accentColor', '"#ffcc00"'))).toEqual([
      'merchants.yaml:3: merchants.M-1.accentColor: #ffcc00 has a contrast of 1.51:1 against the white card; the heading rule and links need at least 3:1 (WCAG 2.1): use a darker shade',
    ]);
    // WCAG's own reference points: black 21:1, white 1:1; #767676 is the lightest grey at 4.5:1.
    expect(contrastWithWhite('#000000')).toBeCloseTo(21, 5);
    expect(contrastWithWhite('#ffffff')).toBeCloseTo(1, 5);
    expect(contrastWithWhite('#767676')).toBeCloseTo(4.54, 2);
    // Just under 3:1 is refused and never shown as 3.00.
    expect(problems(oneField('accentColor', '"#959595"'))).toEqual([expect.stringContaining('#959595 has a contrast of 2.99:1')]);
    expect(problems(oneField('accentColor', '"#949494"'))).toEqual([]);
  });

  it('a supportPhone that is not a plausible phone number', () => {
    const message = (got: string) =>
      `merchants.yaml:3: merchants.M-1.supportPhone: must be a phone number: digits, spaces, parentheses and -, an optional + first, 5 to 15 digits; got "${got}"`;
    expect(problems(oneField('supportPhone', 'call us'))).toEqual([message('call us')]);
    expect(problems(oneField('supportPhone', '"555-01 ext. 4"'))).toEqual([message('555-01 ext. 4')]);
    expect(problems(oneField('supportPhone', '"12 34"'))).toEqual([message('12 34')]);
    expect(problems(oneField('supportPhone', '"1+555 0100"'))).toEqual([message('1+555 0100')]);
  });

  it('a from DKIM cannot sign for: not the DKIM domain nor a subdomain of it', () => {
    const yaml = 'default:\n  from: refunds@platform.example\nmerchants:\n  M-1:\n    from: Acme <refunds@acme.example>\n  M-2:\n    from: refunds@acme.platform.example\n';
    expect(problems(yaml, { dkimDomain: 'platform.example' })).toEqual([
      'merchants.yaml:5: merchants.M-1.from: is on acme.example, which is neither EMAIL_DKIM_DOMAIN (platform.example) nor a subdomain of it: the email would be signed d=platform.example, which DMARC does not count for a From on acme.example (no alignment), so receivers judge it unsigned by acme.example\'s policy. Send from an address on platform.example or a subdomain of it, or leave from out',
    ]);
    // A look-alike suffix is not a subdomain.
    expect(problems('merchants:\n  M-1: { from: a@evilplatform.example }\n', { dkimDomain: 'platform.example' })).toHaveLength(1);
    // Without DKIM any domain is accepted (docs: publish SPF for it).
    expect(problems(yaml)).toEqual([]);
  });

  it('every problem at once, the schema\'s and the cross-checks\'', () => {
    const yaml = 'merchants:\n  "": { accentColor: "#fff" }\n  M-2: { from: x@other.example, logoUrl: "ftp://a.example/l.png" }\n';
    expect(problems(yaml, { dkimDomain: 'platform.example' })).toEqual([
      expect.stringMatching(/^merchants\.yaml:2: merchants\[""\]\.accentColor: #ffffff has a contrast of 1\.00:1/),
      'merchants.yaml:3: merchants.M-2.logoUrl: must be an https URL, got the ftp: scheme',
      'merchants.yaml:2: merchants[""]: a merchant id must not be empty',
      expect.stringMatching(/^merchants\.yaml:3: merchants\.M-2\.from: is on other\.example/),
    ]);
  });

  it('loading throws one ConfigError naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'merchants-'));
    const file = join(dir, 'merchants.yaml');
    writeFileSync(file, oneField('accentColor', 'blue'));
    let error: unknown;
    try {
      loadMerchants(dir);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([`${file}:3: merchants.M-1.accentColor: must be a colour written #rgb or #rrggbb, got "blue"`]);
  });
});
