import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { wireNotifications } from '../../src/composition/notifications.js';
import { loadConfig } from '../../src/config/load.js';
import { loadResultCodeTable } from '../../src/config/result-codes.js';
import type { RefundStore } from '../../src/app/ports.js';
import { ConfigError } from '../../src/domain/errors.js';
import { createFakeClock, createMemoryStore, quietLogger } from '../support/fakes.js';

/**
 * A merchants.yaml that is wrong stops the start, and `config check`, with the file's path, the
 * line and what is wrong, like routing.yaml (docs/notifications.md, "The merchant's brand").
 */
const repoConfig = join(import.meta.dirname, '../../config');
const stores: RefundStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

/** A CONFIG_DIR with the shipped default.yaml and this merchants.yaml. */
function configDirWith(merchants: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rn-merchants-'));
  copyFileSync(join(repoConfig, 'default.yaml'), join(dir, 'default.yaml'));
  writeFileSync(join(dir, 'merchants.yaml'), merchants);
  return dir;
}

async function wire(env: NodeJS.ProcessEnv) {
  const store = await createMemoryStore();
  stores.push(store);
  const config = loadConfig({ env });
  return wireNotifications(config, { store, owner: 'test', clock: createFakeClock(), logger: quietLogger, resultCodes: loadResultCodeTable() });
}

async function startupProblems(env: NodeJS.ProcessEnv): Promise<readonly string[]> {
  try {
    await wire(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('merchants.yaml at startup', () => {
  it('a bad file stops the start, naming the file, the line and the problem', async () => {
    const dir = configDirWith('merchants:\n  M-1:\n    accentColor: "#ffff00"\n');
    expect(await startupProblems({ CONFIG_DIR: dir })).toEqual([
      `${join(dir, 'merchants.yaml')}:3: merchants.M-1.accentColor: #ffff00 has a contrast of 1.07:1 against the white card; the heading rule and links need at least 3:1 (WCAG 2.1): use a darker shade`,
    ]);
  });

  it("a merchant's from outside the DKIM domain stops the start when emails are signed", async () => {
    const dir = configDirWith('merchants:\n  M-1:\n    from: refunds@acme.example\n');
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const dkim = { EMAIL_FROM: 'Refunds <refunds@platform.example>', EMAIL_DKIM_DOMAIN: 'platform.example', EMAIL_DKIM_SELECTOR: 's1', EMAIL_DKIM_PRIVATE_KEY: key };
    expect(await startupProblems({ CONFIG_DIR: dir, ...dkim })).toEqual([
      expect.stringMatching(new RegExp(`^${join(dir, 'merchants.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: merchants\\.M-1\\.from: is on acme\\.example, which is neither EMAIL_DKIM_DOMAIN \\(platform\\.example\\)`)),
    ]);
    // Unsigned, the same file starts (the docs say what to publish for the merchant's domain).
    expect(await startupProblems({ CONFIG_DIR: dir })).toEqual([]);
  });

  it('config check reports it too, and exits 2; a good file is counted', async () => {
    const bad = configDirWith('merchants:\n  M-1:\n    logoUrl: "javascript:alert(1)"\n');
    const out: string[] = [];
    const err: string[] = [];
    const io = (env: NodeJS.ProcessEnv) => ({ out: (l: string) => out.push(l), err: (l: string) => err.push(l), env });
    expect(await runCli(['config', 'check'], io({ CONFIG_DIR: bad }))).toBe(2);
    expect(err.join('\n')).toContain(`${join(bad, 'merchants.yaml')}:3: merchants.M-1.logoUrl: must be an https URL, got the javascript: scheme`);

    const good = configDirWith('default:\n  displayName: Shops\nmerchants:\n  M-1: { displayName: One }\n  M-2: { displayName: Two }\n');
    expect(await runCli(['config', 'check'], io({ CONFIG_DIR: good }))).toBe(0);
    expect(out[0]).toMatch(/; 2 merchant brands and a default\)$/);
    out.length = 0;
    expect(await runCli(['config', 'check'], io({ CONFIG_DIR: repoConfig }))).toBe(0);
    expect(out[0]).toMatch(/; no merchants\.yaml\)$/);
  });

  it('nothing named merchants.yaml is shipped: no deployment sends as a sample merchant', () => {
    expect(existsSync(join(repoConfig, 'merchants.yaml'))).toBe(false);
  });
});
