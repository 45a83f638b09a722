import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AntomClientSettings } from '../../../src/adapters/antom/client.js';
import { generateAntomKeyPair, loadPrivateKey, parsePublicKey, publicKeyOf, type AntomKeyPair } from '../../../src/adapters/antom/keys.js';
import { antomSandboxCommand } from '../../../src/commands/antom-sandbox.js';
import { inquireCommand } from '../../../src/commands/inquire.js';
import type { CommandIo } from '../../../src/commands/io.js';
import { keysCommand, keysGenerateCommand } from '../../../src/commands/keys.js';
import { loadResultCodeTable } from '../../../src/config/result-codes.js';
import type { AntomSandbox } from '../../../src/simulator/sandbox.js';
import { until } from './support.js';

function io(env: NodeJS.ProcessEnv = {}): CommandIo & { outLines: string[]; errLines: string[] } {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return { outLines, errLines, out: (l) => outLines.push(l), err: (l) => errLines.push(l), env: { LOG_LEVEL: 'silent', ...env } };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'antom-commands-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keys generate', () => {
  it('prints a matching RSA-2048 pair in Antom\'s base64 DER formats', async () => {
    const cli = io();
    expect(await keysCommand(['generate'], cli)).toBe(0);
    const [privateKey, publicKey] = cli.outLines.filter((l) => l !== '' && !l.startsWith('#'));
    expect(publicKeyOf(loadPrivateKey(privateKey ?? ''))).toBe(publicKey);
    expect(typeof parsePublicKey(publicKey ?? '')).not.toBe('string');
  });

  it('--pem prints PEM (keysGenerateCommand takes the flags after "keys generate")', async () => {
    const cli = io();
    expect(await keysGenerateCommand(['--pem'], cli)).toBe(0);
    expect(cli.outLines).toContain('-----BEGIN PRIVATE KEY-----');
    expect(cli.outLines).toContain('-----BEGIN PUBLIC KEY-----');
  });

  it('--out writes files, the private ones readable by the owner only, and prints no key', async () => {
    const out = join(dir, 'keys');
    const cli = io();
    expect(await keysCommand(['generate', '--out', out], cli)).toBe(0);
    expect(statSync(join(out, 'private-key.b64')).mode & 0o777).toBe(0o600);
    expect(statSync(join(out, 'private-key.pem')).mode & 0o777).toBe(0o600);
    const privateKey = readFileSync(join(out, 'private-key.b64'), 'utf8').trim();
    expect(publicKeyOf(loadPrivateKey(privateKey))).toBe(readFileSync(join(out, 'public-key.b64'), 'utf8').trim());
    expect(cli.outLines.join('\n')).not.toContain(privateKey.slice(0, 40));
  });

  it('anything else is a usage error', async () => {
    const cli = io();
    expect(await keysCommand(['rotate'], cli)).toBe(2);
    expect(cli.errLines[0]).toMatch(/^usage: refund-notifier keys generate/);
  });
});

describe('antom-sandbox and inquire', () => {
  let merchant: AntomKeyPair;
  let sandbox: AntomSandbox;
  let stop: AbortController;
  let running: Promise<number>;
  let sandboxOut: ReturnType<typeof io>;
  const table = loadResultCodeTable();

  beforeAll(async () => {
    merchant = generateAntomKeyPair();
    writeFileSync(join(dir, 'merchant-public.b64'), merchant.publicKey);
    stop = new AbortController();
    sandboxOut = io();
    let ready: AntomSandbox | undefined;
    running = antomSandboxCommand(
      [
        '--port', '0',
        '--seed', '5',
        '--merchant-public-key-file', join(dir, 'merchant-public.b64'),
        '--public-key-out', join(dir, 'sandbox-public.b64'),
        '--default-scenario', '{"pendingInquiries":1}',
        '--api', 'v1',
      ],
      sandboxOut,
      { signal: stop.signal, onReady: (s) => (ready = s) },
    );
    const started = await until(() => ready, { message: 'sandbox ready' });
    if (!started) throw new Error('unreachable: until returns a truthy value');
    sandbox = started;
  });

  afterAll(async () => {
    stop.abort();
    expect(await running).toBe(0);
  });

  function settings(over: Partial<AntomClientSettings> = {}): AntomClientSettings {
    return {
      baseUrl: sandbox.url,
      api: 'v1',
      clientId: 'SANDBOX_CLI',
      privateKey: merchant.privateKey,
      antomPublicKey: readFileSync(join(dir, 'sandbox-public.b64'), 'utf8'),
      keyVersion: '1',
      timeoutMs: 5_000,
      ...over,
    };
  }

  it('prints how to point the service at it', () => {
    const text = sandboxOut.outLines.join('\n');
    expect(text).toContain(`Antom sandbox listening on ${sandbox.url} (seed 5, time scale 1)`);
    expect(text).toContain(`ANTOM_BASE_URL=${sandbox.url}`);
    expect(text).toContain('ANTOM_API=v1');
    expect(text).toContain(`ANTOM_PUBLIC_KEY_FILE=${join(dir, 'sandbox-public.b64')}`);
    expect(readFileSync(join(dir, 'sandbox-public.b64'), 'utf8').trim()).toBe(sandbox.publicKey);
  });

  it('inquire prints the answer and its classification', async () => {
    const refund = sandbox.createRefund({ final: 'FAIL', failCode: 'RISK_REJECT' });
    const cli = io();
    expect(await inquireCommand([refund.refundId], cli, settings(), table)).toBe(0);
    const text = cli.outLines.join('\n');
    expect(text).toContain(`POST ${sandbox.url}/ams/sandbox/api/v1/payments/inquiryRefund (v1, client id SANDBOX_CLI)`);
    expect(text).toContain('HTTP 200, signature verified');
    expect(text).toContain('refundStatus: FAIL');
    expect(text).toMatch(/classification: failed\n {2}reasonCode: +REFUND_FAILED/);
  });

  it('inquire --json prints one document; ids nobody created play the default scenario', async () => {
    const cli = io();
    expect(await inquireCommand(['cli-unknown', '--json'], cli, settings(), table)).toBe(0);
    const doc = JSON.parse(cli.outLines.join('\n')) as { outcome: { kind: string; refundStatus: string }; classification: { kind: string } };
    expect(doc.outcome).toMatchObject({ kind: 'answer', refundStatus: 'PROCESSING' });
    expect(doc.classification.kind).toBe('pending');
  });

  it('inquire --request-id asks by refundRequestId', async () => {
    const refund = sandbox.createRefund({ refundRequestId: 'cli-rr-1' });
    const cli = io();
    expect(await inquireCommand(['--request-id', 'cli-rr-1'], cli, settings(), table)).toBe(0);
    expect(cli.outLines.join('\n')).toContain(`"refundId":"${refund.refundId}"`);
  });

  it('inquire exits 1 when no verified answer came back', async () => {
    const cli = io();
    const code = await inquireCommand(['x'], cli, settings({ antomPublicKey: generateAntomKeyPair().publicKey }), table);
    expect(code).toBe(1);
    expect(cli.outLines.join('\n')).toMatch(/REJECTED \(bad-signature\)[\s\S]*classification: integration-fault/);
  });

  it('inquire refuses a query it cannot send', async () => {
    const cli = io();
    expect(await inquireCommand(['--request-id', 'rr'], cli, settings({ api: 'v2' }), table)).toBe(2);
    expect(cli.errLines[0]).toMatch(/v2 inquiryRefund needs a refundId/);
  });
});

describe('antom-sandbox --keys-dir (docker-compose, the demo)', () => {
  async function runOnce(keysDir: string, check: (sandbox: AntomSandbox, cli: ReturnType<typeof io>) => Promise<void>): Promise<void> {
    const stop = new AbortController();
    const cli = io();
    let ready: AntomSandbox | undefined;
    const running = antomSandboxCommand(['--port', '0', '--keys-dir', keysDir], cli, { signal: stop.signal, onReady: (s) => (ready = s) });
    const sandbox = await until(() => ready, { message: 'sandbox ready' });
    try {
      if (!sandbox) throw new Error('unreachable');
      await check(sandbox, cli);
    } finally {
      stop.abort();
      expect(await running).toBe(0);
    }
  }

  it('creates both pairs, points the service at the files, and keeps them across restarts', async () => {
    const keysDir = join(dir, 'shared-keys');
    let firstPublicKey = '';
    await runOnce(keysDir, async (sandbox, cli) => {
      firstPublicKey = sandbox.publicKey;
      expect(statSync(join(keysDir, 'merchant-private.key')).mode & 0o777).toBe(0o600);
      expect(statSync(join(keysDir, 'antom-private.key')).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(keysDir, 'antom-public.key'), 'utf8').trim()).toBe(sandbox.publicKey);
      expect(cli.outLines).toContain(`  ANTOM_PRIVATE_KEY_FILE=${join(keysDir, 'merchant-private.key')}`);
      expect(cli.outLines).toContain(`  ANTOM_PUBLIC_KEY_FILE=${join(keysDir, 'antom-public.key')}`);
      const settings: AntomClientSettings = {
        baseUrl: sandbox.url,
        api: 'v2',
        clientId: 'SANDBOX_COMPOSE',
        privateKey: readFileSync(join(keysDir, 'merchant-private.key'), 'utf8'),
        antomPublicKey: readFileSync(join(keysDir, 'antom-public.key'), 'utf8'),
        keyVersion: '1',
        timeoutMs: 5_000,
      };
      const out = io();
      expect(await inquireCommand([sandbox.createRefund({}).refundId], out, settings, loadResultCodeTable())).toBe(0);
      expect(out.outLines).toContain('classification: completed');
    });
    await runOnce(keysDir, async (sandbox) => {
      expect(sandbox.publicKey).toBe(firstPublicKey);
    });
  });
});

describe('antom-sandbox flags', () => {
  it('refuses to start without the merchant public key, listing every problem', async () => {
    const cli = io();
    expect(await antomSandboxCommand(['--port', 'abc', '--time-scale', '0'], cli)).toBe(2);
    expect(cli.errLines).toEqual([
      '--port abc is not valid',
      '--time-scale 0 is not valid',
      '--merchant-public-key-file (or --merchant-public-key, or --keys-dir) is required: the sandbox verifies every request with it',
    ]);
  });

  it('refuses a key that is not a public key, and a bad default scenario', async () => {
    const cli = io();
    expect(await antomSandboxCommand(['--merchant-public-key', 'nope', '--default-scenario', '{"final":"X"}'], cli)).toBe(2);
    expect(cli.errLines[0]).toMatch(/^--default-scenario: final: /);
    const second = io();
    expect(await antomSandboxCommand(['--merchant-public-key', 'nope', '--port', '0'], second)).toBe(2);
    expect(second.errLines[0]).toMatch(/the merchant public key is not a base64 SPKI or PEM public key/);
  });

  it('--help prints the usage', async () => {
    const cli = io();
    expect(await antomSandboxCommand(['--help'], cli)).toBe(0);
    expect(cli.outLines[0]).toMatch(/^usage: refund-notifier antom-sandbox/);
  });
});
