import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateAntomKeyPair } from '../adapters/antom/keys.js';
import { parseOrUsage, type CommandIo } from './io.js';

const USAGE = [
  'usage: refund-notifier keys generate [--out DIR] [--pem]',
  '',
  '  Generates an RSA-2048 merchant key pair in the formats Antom uses:',
  '  the private key as base64 PKCS#8 DER (ANTOM_PRIVATE_KEY), the public key as base64',
  '  SPKI DER (upload it to the Antom Dashboard, or give it to the sandbox).',
  '',
  '  --out DIR  write private-key.b64 (mode 0600), public-key.b64 and both .pem files to DIR',
  '             instead of printing the private key',
  '  --pem      print PEM instead of base64 DER',
];

/** `refund-notifier keys <subcommand>`: only `generate` exists. */
export async function keysCommand(args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'generate') return keysGenerateCommand(rest, io);
  const asked = sub === undefined || sub === '--help' || sub === '-h';
  for (const line of USAGE) {
    if (asked) io.out(line);
    else io.err(line);
  }
  return asked ? 0 : 2;
}

/** `refund-notifier keys generate [--out DIR] [--pem]`; `args` are the flags after `generate`. */
export async function keysGenerateCommand(args: string[], io: CommandIo): Promise<number> {
  const values = parseOrUsage(io, USAGE, () =>
    parseArgs({
      args,
      options: { out: { type: 'string' }, pem: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }).values,
  );
  if (typeof values === 'number') return values;

  const pair = generateAntomKeyPair();
  if (values.out !== undefined) {
    const dir = values.out;
    await mkdir(dir, { recursive: true });
    // Written with 0600 from the start, not chmod-ed afterwards, so the key is never world-readable.
    await writeFile(join(dir, 'private-key.b64'), `${pair.privateKey}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'private-key.pem'), pair.privateKeyPem, { mode: 0o600 });
    await writeFile(join(dir, 'public-key.b64'), `${pair.publicKey}\n`);
    await writeFile(join(dir, 'public-key.pem'), pair.publicKeyPem);
    io.out(`wrote ${join(dir, 'private-key.b64')} (ANTOM_PRIVATE_KEY_FILE; keep it secret)`);
    io.out(`wrote ${join(dir, 'private-key.pem')}`);
    io.out(`wrote ${join(dir, 'public-key.b64')} (upload to the Antom Dashboard, or: antom-sandbox --merchant-public-key-file)`);
    io.out(`wrote ${join(dir, 'public-key.pem')}`);
    return 0;
  }

  io.out('# Merchant private key: ANTOM_PRIVATE_KEY. Keep it secret; it never leaves your side.');
  for (const line of (values.pem ? pair.privateKeyPem.trimEnd() : pair.privateKey).split('\n')) io.out(line);
  io.out('');
  io.out('# Merchant public key: upload it to the Antom Dashboard (or give it to antom-sandbox).');
  for (const line of (values.pem ? pair.publicKeyPem.trimEnd() : pair.publicKey).split('\n')) io.out(line);
  return 0;
}
