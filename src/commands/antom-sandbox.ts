import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateAntomKeyPair } from '../adapters/antom/keys.js';
import { createLogger } from '../adapters/log/logger.js';
import { parseScenario, type Scenario } from '../simulator/scenario.js';
import { SandboxInputError, startAntomSandbox, type AntomSandbox } from '../simulator/sandbox.js';
import { parseOrUsage, type CommandIo } from './io.js';

/** The sandbox's default port: next to the service's 8080, and unlikely to be taken. */
const DEFAULT_SANDBOX_PORT = 8090;

const USAGE = [
  'usage: refund-notifier antom-sandbox --merchant-public-key-file FILE [options]',
  '',
  '  An Antom stand-in: serves inquiryRefund (v1 and v2) and refund, verifies every request',
  '  signature with the merchant public key, signs every answer, plays a scenario per refund',
  '  and pushes notifyRefund. Runs until SIGINT or SIGTERM.',
  '',
  '  --merchant-public-key-file FILE  the merchant public key (base64 SPKI or PEM), e.g. from',
  '                                   `refund-notifier keys generate --out DIR` (DIR/public-key.b64)',
  '  --merchant-public-key KEY        the same, given inline',
  '  --keys-dir DIR                   keep both key pairs in DIR (docker-compose, the demo): reuses',
  '                                   merchant-public.key and antom-private.key when present, else',
  '                                   generates them; writes merchant-private.key (for the service\'s',
  '                                   ANTOM_PRIVATE_KEY_FILE) and antom-public.key (ANTOM_PUBLIC_KEY_FILE)',
  `  --port N                         default ${DEFAULT_SANDBOX_PORT} (0: any free port)`,
  '  --host HOST                      default 127.0.0.1 (the admin API has no authentication)',
  '  --seed N                         fixes generated ids, latencies and random faults (default 1)',
  '  --private-key-file FILE          the sandbox\'s own private key; generated when absent',
  '  --public-key-out FILE            write the sandbox public key there (for ANTOM_PUBLIC_KEY_FILE)',
  '  --notify-url URL                 push notifyRefund here when a refund becomes final',
  '  --notify-retries antom|none      antom: resend on 0s,2m,10m,10m,1h,2h,6h,15h (default); none:',
  '                                   one attempt, like Antom\'s own sandbox',
  '  --time-scale N                   Antom time runs N times faster (pending time, resends); default 1',
  '  --default-scenario JSON|@FILE|not-found',
  '                                   played for ids nobody created (default not-found)',
  '  --client-id ID                   refuse other client ids with CLIENT_INVALID',
  '  --api v1|v2                      which ANTOM_API the printed settings suggest (default v2)',
  '  --log-level LEVEL                default info',
];

export interface AntomSandboxCommandDeps {
  /** Stops the sandbox when aborted; the process's SIGINT/SIGTERM are used when absent. */
  signal?: AbortSignal;
  /** Called once the sandbox listens (tests and the demo read its URL and key from it). */
  onReady?: (sandbox: AntomSandbox) => void;
}

/** `refund-notifier antom-sandbox`: runs the Antom sandbox until stopped. */
export async function antomSandboxCommand(args: string[], io: CommandIo, deps: AntomSandboxCommandDeps = {}): Promise<number> {
  const values = parseOrUsage(io, USAGE, () => parse(args));
  if (typeof values === 'number') return values;

  const problems: string[] = [];
  const number = (name: string, text: string | undefined, fallback: number, ok: (n: number) => boolean): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || !ok(n)) problems.push(`--${name} ${text} is not valid`);
    return n;
  };
  const port = number('port', values.port, DEFAULT_SANDBOX_PORT, (n) => Number.isInteger(n) && n >= 0 && n <= 65_535);
  const seed = number('seed', values.seed, 1, Number.isInteger);
  const timeScale = number('time-scale', values['time-scale'], 1, (n) => n > 0);
  const api = values.api ?? 'v2';
  if (api !== 'v1' && api !== 'v2') problems.push(`--api must be v1 or v2, got ${api}`);
  const notifyRetries = values['notify-retries'] ?? 'antom';
  if (notifyRetries !== 'antom' && notifyRetries !== 'none') problems.push(`--notify-retries must be antom or none, got ${notifyRetries}`);
  if (values['notify-url'] !== undefined && !URL.canParse(values['notify-url'])) problems.push(`--notify-url ${values['notify-url']} is not a URL`);

  let merchantPublicKey =
    values['merchant-public-key'] ?? (await readOptional(values['merchant-public-key-file'], 'merchant-public-key-file', problems));
  let sandboxPrivateKey = await readOptional(values['private-key-file'], 'private-key-file', problems);
  const keysDir = values['keys-dir'];
  if (merchantPublicKey === undefined && values['merchant-public-key-file'] === undefined && keysDir === undefined) {
    problems.push('--merchant-public-key-file (or --merchant-public-key, or --keys-dir) is required: the sandbox verifies every request with it');
  }
  const defaultScenario = await scenarioOption(values['default-scenario'], problems);
  if (problems.length > 0) {
    for (const problem of problems) io.err(problem);
    return 2;
  }
  if (keysDir !== undefined) {
    try {
      const kept = await keysInDir(keysDir, { merchantPublicKey, sandboxPrivateKey });
      merchantPublicKey = kept.merchantPublicKey;
      sandboxPrivateKey = kept.sandboxPrivateKey;
    } catch (err) {
      io.err(`--keys-dir ${keysDir}: ${(err as Error).message}`);
      return 1;
    }
  }
  if (merchantPublicKey === undefined) return 2;

  const logger = createLogger({
    level: values['log-level'] ?? io.env.LOG_LEVEL ?? 'info',
    name: 'antom-sandbox',
    destination: { write: (line: string) => io.err(line.trimEnd()) },
  });

  let sandbox: AntomSandbox;
  try {
    sandbox = await startAntomSandbox({
      port,
      host: values.host ?? '127.0.0.1',
      seed,
      timeScale,
      merchantPublicKey,
      notifyRetries: notifyRetries as 'antom' | 'none',
      logger,
      sandboxPrivateKey,
      notifyUrl: values['notify-url'],
      defaultScenario,
      clientId: values['client-id'],
    });
  } catch (err) {
    if (err instanceof SandboxInputError) {
      for (const problem of err.problems) io.err(problem);
      return 2;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      io.err(`port ${port} is already in use; pass --port 0 for any free port`);
      return 1;
    }
    io.err(`cannot start the sandbox: ${(err as Error).message}`);
    return 1;
  }

  if (values['public-key-out'] !== undefined) await writeFile(values['public-key-out'], `${sandbox.publicKey}\n`);
  if (keysDir !== undefined) await writeWhole(join(keysDir, KEY_FILES.antomPublic), sandbox.publicKey, 0o644);
  const publicKeyFile = values['public-key-out'] ?? (keysDir === undefined ? undefined : join(keysDir, KEY_FILES.antomPublic));

  io.out(`Antom sandbox listening on ${sandbox.url} (seed ${seed}, time scale ${timeScale})`);
  io.out('');
  io.out('Point refund-notifier at it:');
  const env = sandbox.serviceEnv(api as 'v1' | 'v2');
  for (const [name, value] of Object.entries(env)) {
    if (name === 'ANTOM_PUBLIC_KEY' && publicKeyFile !== undefined) io.out(`  ANTOM_PUBLIC_KEY_FILE=${publicKeyFile}`);
    else io.out(`  ${name}=${value}`);
  }
  io.out(
    keysDir === undefined
      ? '  ANTOM_PRIVATE_KEY_FILE=<the private key matching --merchant-public-key-file>'
      : `  ANTOM_PRIVATE_KEY_FILE=${join(keysDir, KEY_FILES.merchantPrivate)}`,
  );
  io.out('');
  io.out('Admin API:');
  io.out(`  POST ${sandbox.url}/sandbox/refunds         create refunds: a scenario, a list, or {"refunds":[...]}`);
  io.out(`  GET  ${sandbox.url}/sandbox/refunds/<id>    what it answered and sent for one refund`);
  io.out(`  GET  ${sandbox.url}/sandbox/notifications   notifyRefund attempts (?refundId=&limit=)`);
  io.out(`  GET  ${sandbox.url}/sandbox/stats           counts of inquiries and answers`);
  io.out(`  example: curl -s -XPOST ${sandbox.url}/sandbox/refunds -d '{"pendingInquiries":2,"final":"FAIL","failCode":"RISK_REJECT"}'`);

  deps.onReady?.(sandbox);
  await stopped(deps.signal);
  io.out('stopping the Antom sandbox');
  await sandbox.close();
  return 0;
}

function parse(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      seed: { type: 'string' },
      'private-key-file': { type: 'string' },
      'public-key-out': { type: 'string' },
      'merchant-public-key': { type: 'string' },
      'merchant-public-key-file': { type: 'string' },
      'keys-dir': { type: 'string' },
      'notify-url': { type: 'string' },
      'notify-retries': { type: 'string' },
      'time-scale': { type: 'string' },
      'default-scenario': { type: 'string' },
      'client-id': { type: 'string' },
      api: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  return values;
}

async function readOptional(path: string | undefined, flag: string, problems: string[]): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    problems.push(`--${flag} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return undefined;
  }
}

async function scenarioOption(text: string | undefined, problems: string[]): Promise<Scenario | 'not-found' | undefined> {
  if (text === undefined || text === 'not-found') return text;
  let source = text;
  if (text.startsWith('@')) {
    const fromFile = await readOptional(text.slice(1), 'default-scenario', problems);
    if (fromFile === undefined) return undefined;
    source = fromFile;
  }
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch {
    problems.push('--default-scenario must be JSON, @FILE or not-found');
    return undefined;
  }
  const parsed = parseScenario(value);
  if (!parsed.ok) {
    problems.push(...parsed.problems.map((p) => `--default-scenario: ${p}`));
    return undefined;
  }
  return parsed.scenario;
}

/** The files of `--keys-dir`, all base64 DER (Antom's formats); private ones are mode 0600. */
const KEY_FILES = {
  merchantPrivate: 'merchant-private.key',
  merchantPublic: 'merchant-public.key',
  antomPrivate: 'antom-private.key',
  antomPublic: 'antom-public.key',
} as const;

/**
 * Keeps the sandbox's key pair and the merchant pair it trusts in one directory, so that a
 * service sharing the directory (a docker-compose volume, the demo) finds matching keys, and a
 * restart keeps them. Flags given explicitly win over the files; missing pairs are generated.
 */
async function keysInDir(
  dir: string,
  given: { merchantPublicKey: string | undefined; sandboxPrivateKey: string | undefined },
): Promise<{ merchantPublicKey: string; sandboxPrivateKey: string }> {
  await mkdir(dir, { recursive: true });
  const read = async (name: string): Promise<string | undefined> => {
    try {
      return (await readFile(join(dir, name), 'utf8')).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };
  const write = (name: string, text: string, mode: number) => writeWhole(join(dir, name), text, mode);

  let merchantPublicKey = given.merchantPublicKey ?? (await read(KEY_FILES.merchantPublic));
  if (merchantPublicKey === undefined) {
    const merchant = generateAntomKeyPair();
    await write(KEY_FILES.merchantPrivate, merchant.privateKey, 0o600);
    await write(KEY_FILES.merchantPublic, merchant.publicKey, 0o644);
    merchantPublicKey = merchant.publicKey;
  }
  let sandboxPrivateKey = given.sandboxPrivateKey ?? (await read(KEY_FILES.antomPrivate));
  if (sandboxPrivateKey === undefined) {
    const antom = generateAntomKeyPair();
    await write(KEY_FILES.antomPrivate, antom.privateKey, 0o600);
    sandboxPrivateKey = antom.privateKey;
  }
  return { merchantPublicKey, sandboxPrivateKey };
}

/** Written whole, then renamed: a service polling the directory never reads half a key. */
async function writeWhole(path: string, text: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${text}\n`, { mode });
  await rename(temporary, path);
}

/** Resolves on the first SIGINT or SIGTERM (or when the signal aborts), then stops listening. */
function stopped(signal: AbortSignal | undefined): Promise<void> {
  if (signal) {
    return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  return new Promise((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
