import { loadTemplates } from '../adapters/email/templates.js';
import { loadConfig } from '../config/load.js';
import { loadMerchants, merchantsFilePath } from '../config/merchants.js';
import { loadResultCodeTable } from '../config/result-codes.js';
import { loadRoutingTree, routingFilePath } from '../config/routing.js';
import { describeConfig } from '../config/print.js';
import { ConfigError } from '../domain/errors.js';
import type { CommandIo } from './io.js';

/** `refund-notifier config check`: validates and prints the effective configuration, secrets masked. */
export async function configCheckCommand(_args: string[], io: CommandIo): Promise<number> {
  try {
    const config = loadConfig({ env: io.env });
    // The files in CONFIG_DIR are part of the configuration: checked the way startup checks them.
    const table = loadResultCodeTable({ configDir: config.configDir });
    const routing = routingFilePath(config.configDir);
    loadRoutingTree(routing, { knownReasonCodes: table.rules.keys() });
    loadTemplates({ configDir: config.configDir });
    const merchants = loadMerchants(config.configDir, { dkimDomain: config.values.EMAIL_DKIM_DOMAIN });
    const brands = merchantsFilePath(config.configDir) === undefined ? 'no merchants.yaml' : `${merchants.merchants.size} merchant brands${merchants.fallback ? ' and a default' : ''}`;
    io.out(`configuration is valid (CONFIG_DIR ${config.configDir}; routing ${routing}; ${table.rules.size} result codes; ${brands})`);
    for (const line of describeConfig(config)) io.out(line);
    if (!config.values.ANTOM_CLIENT_ID || !config.values.ANTOM_PRIVATE_KEY || !config.values.ANTOM_PUBLIC_KEY) {
      io.out('note: ANTOM_CLIENT_ID, ANTOM_PRIVATE_KEY and ANTOM_PUBLIC_KEY are needed to poll Antom');
    }
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 2;
    }
    throw err;
  }
}
