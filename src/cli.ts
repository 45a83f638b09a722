import { ConfigError } from './domain/errors.js';
import { configCheckCommand } from './commands/config-check.js';
import { processIo, type CommandIo } from './commands/io.js';
import { antomSandboxCommand } from './commands/antom-sandbox.js';
import { demoCommand } from './commands/demo.js';
import { inquireCommand } from './commands/inquire.js';
import { keysGenerateCommand } from './commands/keys.js';
import { antomClientSettings } from './config/antom.js';
import { loadConfig } from './config/load.js';
import { loadResultCodeTable } from './config/result-codes.js';
import { startCommand } from './commands/start.js';

type Command = (args: string[], io: CommandIo) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  start: { run: startCommand, summary: 'run the service' },
  demo: { run: demoCommand, summary: 'the whole mission on this machine: local Kafka, the service, sample refunds' },
  'antom-sandbox': { run: (args, io) => antomSandboxCommand(args, io), summary: 'the Antom sandbox simulator (its own port and keys)' },
  inquire: {
    run: async (args, io) => {
      const config = loadConfig({ env: io.env, requireAntomCredentials: true });
      return inquireCommand(args, io, antomClientSettings(config), loadResultCodeTable({ configDir: config.configDir }));
    },
    summary: 'one signed inquiryRefund with the configured credentials: the answer and its classification',
  },
  'keys generate': { run: keysGenerateCommand, summary: "a fresh RSA-2048 key pair in Antom's formats" },
  'config check': { run: configCheckCommand, summary: 'validate the configuration and print it, secrets masked' },
};

function usage(io: CommandIo): void {
  io.out('usage: refund-notifier <command>');
  io.out('');
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  for (const [name, { summary }] of Object.entries(COMMANDS)) io.out(`  ${name.padEnd(width)}  ${summary}`);
}

/** Entry point of the `refund-notifier` bin; returns the exit code. */
export async function runCli(argv: string[], io: CommandIo = processIo): Promise<number> {
  // Two-word commands ("config check", "keys generate") are matched before one-word ones.
  const two = argv.slice(0, 2).join(' ');
  const [name, rest] = COMMANDS[two] ? [two, argv.slice(2)] : [argv[0] ?? '', argv.slice(1)];
  const command = COMMANDS[name];
  if (!command || name === '' || name === 'help' || name === '--help') {
    usage(io);
    return name === '' || name === 'help' || name === '--help' ? 0 : 2;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 2;
    }
    throw err;
  }
}
