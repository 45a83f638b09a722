import { ConfigError } from './domain/errors.js';
import { processIo, type CommandIo } from './commands/io.js';

type Command = (args: string[], io: CommandIo) => Promise<number>;

/**
 * Commands are imported when run, not at start: `start` in a production install must not load
 * what only the demo needs (the SMTP capture server and the Slack stub are dev dependencies).
 */
const COMMANDS: Record<string, { run: Command; summary: string }> = {
  start: { run: async (a, io) => (await import('./commands/start.js')).startCommand(a, io), summary: 'run the service' },
  demo: {
    run: async (a, io) => (await import('./commands/demo.js')).demoCommand(a, io),
    summary: 'the whole mission on this machine: Kafka, the Antom sandbox, Slack and SMTP stand-ins, sample refunds',
  },
  'antom-sandbox': {
    run: async (a, io) => (await import('./commands/antom-sandbox.js')).antomSandboxCommand(a, io),
    summary: 'the Antom sandbox simulator (its own port and keys)',
  },
  inquire: {
    run: async (args, io) => {
      const [{ loadConfig }, { antomClientSettings }, { loadResultCodeTable }, { inquireCommand }] = await Promise.all([
        import('./config/load.js'),
        import('./adapters/antom/settings.js'),
        import('./config/result-codes.js'),
        import('./commands/inquire.js'),
      ]);
      const config = loadConfig({ env: io.env, requireAntomCredentials: true });
      return inquireCommand(args, io, antomClientSettings(config), loadResultCodeTable({ configDir: config.configDir }));
    },
    summary: 'one signed inquiryRefund with the configured credentials: the answer and its classification',
  },
  'keys generate': {
    run: async (a, io) => (await import('./commands/keys.js')).keysGenerateCommand(a, io),
    summary: "a fresh RSA-2048 key pair in Antom's formats",
  },
  'config check': {
    run: async (a, io) => (await import('./commands/config-check.js')).configCheckCommand(a, io),
    summary: 'validate the configuration and print it, secrets masked',
  },
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
