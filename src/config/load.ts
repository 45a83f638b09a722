import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from '../domain/errors.js';
import { checkDkim } from './dkim.js';
import { formatDuration } from './duration.js';
import { SETTINGS, SETTING_NAMES, type SettingName, type SettingValues, type DatabaseTarget } from './settings.js';

export type SettingSource = 'default.yaml' | 'env' | 'file' | 'unset';

/**
 * The validated configuration: every setting under its environment name, typed. Each component
 * takes its own settings from `values` where it is wired (src/composition/settings.ts), so a
 * setting has one name from the environment to the code that uses it.
 */
export interface AppConfig {
  readonly values: SettingValues;
  readonly sources: Readonly<Record<SettingName, SettingSource>>;
  /** CONFIG_DIR, resolved against the working directory. */
  readonly configDir: string;
  /** DATABASE_URL, a relative SQLite path resolved against the working directory. */
  readonly database: DatabaseTarget;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Working directory that relative CONFIG_DIR and sqlite paths are resolved against. */
  cwd?: string;
  /** The service needs Antom credentials to poll; `config check` reports them missing either way. */
  requireAntomCredentials?: boolean;
}

const DEFAULT_CONFIG_DIR = './config';
// The classic AMS gateway (Singapore) that the official SDKs name first; v2 has no default host.
const DEFAULT_V1_BASE_URL = 'https://open-sea-global.alipay.com';

/**
 * Loads config/default.yaml, overlays the environment (and `*_FILE` secrets), validates every
 * setting, and throws one ConfigError listing every problem, so an operator fixes them all in
 * one round instead of one per restart.
 */
export function loadConfig(options: LoadOptions = {}): AppConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];

  const configDirRaw = env.CONFIG_DIR?.trim() || DEFAULT_CONFIG_DIR;
  const configDir = isAbsolute(configDirRaw) ? configDirRaw : resolve(cwd, configDirRaw);
  const defaults = readDefaults(join(configDir, 'default.yaml'), problems);

  const raw: Partial<Record<SettingName, string>> = {};
  const sources = {} as Record<SettingName, SettingSource>;
  // Settings given but not usable (unreadable file, value that does not parse): reported once,
  // and not reported again as missing by the cross-checks.
  const invalid = new Set<SettingName>();
  for (const name of SETTING_NAMES) {
    const spec = SETTINGS[name] as { fileVariant?: boolean };
    const fromEnv = env[name];
    const fileName = spec.fileVariant ? env[`${name}_FILE`] : undefined;
    if (fromEnv !== undefined && fileName !== undefined && fileName !== '') {
      problems.push(`${name}: set either ${name} or ${name}_FILE, not both`);
    }
    if (fileName !== undefined && fileName !== '') {
      try {
        raw[name] = readFileSync(isAbsolute(fileName) ? fileName : resolve(cwd, fileName), 'utf8').trim();
        sources[name] = 'file';
      } catch (err) {
        problems.push(`${name}_FILE: cannot read ${fileName} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
        sources[name] = 'unset';
        invalid.add(name);
      }
    } else if (fromEnv !== undefined) {
      raw[name] = fromEnv;
      sources[name] = 'env';
    } else if (defaults[name] !== undefined) {
      raw[name] = defaults[name];
      sources[name] = 'default.yaml';
    } else {
      sources[name] = 'unset';
    }
  }
  raw.CONFIG_DIR = configDirRaw;

  const parsedValues = {} as Record<SettingName, unknown>;
  for (const name of SETTING_NAMES) {
    const parsed = SETTINGS[name].parser.safeParse(raw[name]);
    if (parsed.success) {
      parsedValues[name] = parsed.data;
    } else {
      invalid.add(name);
      for (const issue of parsed.error.issues) problems.push(`${name} ${issue.message}`);
    }
  }
  const v = parsedValues as SettingValues;
  // Cross-checks run on whatever parsed, so one round reports every problem there is.
  crossCheck(v, options, problems);
  checkDkim(v, invalid, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const database =
    v.DATABASE_URL.kind === 'sqlite' && !isAbsolute(v.DATABASE_URL.path) && v.DATABASE_URL.path !== ':memory:'
      ? { kind: 'sqlite' as const, path: resolve(cwd, v.DATABASE_URL.path) }
      : v.DATABASE_URL;
  // v1 has a well-known default gateway; v2 has none (crossCheck insists on ANTOM_BASE_URL).
  const values: SettingValues = v.ANTOM_API === 'v1' && v.ANTOM_BASE_URL === undefined ? { ...v, ANTOM_BASE_URL: DEFAULT_V1_BASE_URL } : v;
  return { values, sources, configDir, database };
}

function crossCheck(v: SettingValues, options: LoadOptions, problems: string[]): void {
  const mechanism = v.KAFKA_SASL_MECHANISM;
  if (mechanism && mechanism !== 'off') {
    if (!v.KAFKA_SASL_USERNAME) problems.push(`KAFKA_SASL_USERNAME is required when KAFKA_SASL_MECHANISM is ${mechanism}`);
    if (!v.KAFKA_SASL_PASSWORD) problems.push(`KAFKA_SASL_PASSWORD is required when KAFKA_SASL_MECHANISM is ${mechanism}`);
  }
  const both = (a: unknown, b: unknown) => a !== undefined && b !== undefined;
  if (both(v.POLL_FIRST_DELAY, v.POLL_MAX_INTERVAL) && v.POLL_FIRST_DELAY > v.POLL_MAX_INTERVAL) {
    problems.push(`POLL_FIRST_DELAY (${formatDuration(v.POLL_FIRST_DELAY)}) must not exceed POLL_MAX_INTERVAL (${formatDuration(v.POLL_MAX_INTERVAL)})`);
  }
  if (both(v.POLL_STALLED_AFTER, v.POLL_GIVE_UP_AFTER) && v.POLL_STALLED_AFTER >= v.POLL_GIVE_UP_AFTER) {
    problems.push(`POLL_STALLED_AFTER (${formatDuration(v.POLL_STALLED_AFTER)}) must be shorter than POLL_GIVE_UP_AFTER (${formatDuration(v.POLL_GIVE_UP_AFTER)})`);
  }
  const topics = [v.TOPIC_REFUND_INITIATED, v.TOPIC_REFUND_COMPLETED, v.TOPIC_REFUND_FAILED, v.TOPIC_REFUND_STALLED, v.TOPIC_DEAD_LETTER];
  if (topics.every((t) => t !== undefined) && new Set(topics).size !== topics.length) {
    problems.push('TOPIC_*: the input, output and dead-letter topics must all be different');
  }
  if (both(v.HTTP_PORT, v.ADMIN_PORT) && v.HTTP_PORT === v.ADMIN_PORT && v.HTTP_PORT !== 0) {
    problems.push(`ADMIN_PORT (${v.ADMIN_PORT}) must differ from HTTP_PORT: the admin listener must not share the port Antom's notifications come in on`);
  }
  checkAntomEndpoint(v, problems);
  if (options.requireAntomCredentials && v.ANTOM_API === 'v2' && v.ANTOM_BASE_URL === undefined) {
    problems.push('ANTOM_BASE_URL is required to poll with ANTOM_API v2: Antom gives each merchant its omnichannel host (the path /openapi/v2/payments/inquiryRefund is added)');
  }
  if (options.requireAntomCredentials) {
    for (const name of ['ANTOM_CLIENT_ID', 'ANTOM_PRIVATE_KEY', 'ANTOM_PUBLIC_KEY'] as const) {
      if (!v[name]) problems.push(`${name} is required to poll Antom (set it, or ${name}_FILE where available)`);
    }
  }
}

function readDefaults(path: string, problems: string[]): Partial<Record<SettingName, string>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    problems.push(`CONFIG_DIR: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return {};
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const line = e.linePos?.[0]?.line;
      problems.push(`${path}${line ? `:${line}` : ''}: ${e.message.split('\n')[0]}`);
    }
    return {};
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    problems.push(`${path}: must be a mapping of SETTING_NAME: value`);
    return {};
  }
  const out: Partial<Record<SettingName, string>> = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (!(key in SETTINGS)) {
      problems.push(`${path}: unknown setting ${key} (known settings are listed in docs/configuration.md)`);
      continue;
    }
    if (value === null || value === undefined) continue;
    if (typeof value === 'object') {
      problems.push(`${path}: ${key} must be a single value, not a list or mapping`);
      continue;
    }
    out[key as SettingName] = String(value);
  }
  return out;
}

/**
 * Where answers come from and which keys verify them (docs/antom.md, "Endpoint and keys"): v2
 * has no default host; plain http only to a loopback host or with a SANDBOX_ client id, since a
 * signature proves who wrote an answer but TLS is what keeps it private and unaltered in flight;
 * and Antom's public key must not be the public half of our own key (a swap that would let
 * anything we sign pass as Antom's answer).
 */
function checkAntomEndpoint(v: SettingValues, problems: string[]): void {
  if (v.ANTOM_BASE_URL !== undefined) {
    const url = new URL(v.ANTOM_BASE_URL);
    const loopback = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i.test(url.hostname);
    const sandbox = v.ANTOM_CLIENT_ID?.startsWith('SANDBOX_') ?? false;
    if (url.protocol === 'http:' && !loopback && !sandbox) {
      problems.push(`ANTOM_BASE_URL must use https: (plain http is allowed only to a loopback host or with a SANDBOX_ client id), got ${url.origin}`);
    }
  }
  if (v.ANTOM_PRIVATE_KEY) {
    const ours = publicHalf(v.ANTOM_PRIVATE_KEY);
    for (const name of ['ANTOM_PUBLIC_KEY', 'ANTOM_PUBLIC_KEY_NEXT'] as const) {
      const key = v[name];
      if (key && ours !== undefined && spkiOf(key) === ours) {
        problems.push(`${name} is the public half of ANTOM_PRIVATE_KEY: it must be Antom's public key (Dashboard > Developer > Keys), not ours`);
      }
    }
  }
}

function publicHalf(privateKey: string): string | undefined {
  try {
    const key = privateKey.includes('-----BEGIN') ? createPrivateKey(privateKey) : createPrivateKey({ key: Buffer.from(privateKey, 'base64'), format: 'der', type: 'pkcs8' });
    return createPublicKey(key).export({ format: 'der', type: 'spki' }).toString('base64');
  } catch {
    return undefined;
  }
}

function spkiOf(publicKey: string): string | undefined {
  try {
    const key = publicKey.includes('-----BEGIN') ? createPublicKey(publicKey) : createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
    return key.export({ format: 'der', type: 'spki' }).toString('base64');
  } catch {
    return undefined;
  }
}
