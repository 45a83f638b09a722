import { mkdtempSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { describeConfig } from '../../src/config/print.js';
import { SETTINGS, SETTING_NAMES } from '../../src/config/settings.js';
import {
  allTopics,
  httpSettings,
  ingestSettings,
  mailerSettings,
  notifySettings,
  outcomeTopics,
  pollSettings,
  routingContext,
  scheduleSettings,
  storeTarget,
} from '../../src/composition/settings.js';
import { ConfigError } from '../../src/domain/errors.js';

const repoConfig = join(import.meta.dirname, '../../config');

function problemsOf(env: NodeJS.ProcessEnv, opts: { requireAntomCredentials?: boolean } = {}): string[] {
  try {
    loadConfig({ env: { CONFIG_DIR: repoConfig, ...env }, ...opts });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

function configOf(env: NodeJS.ProcessEnv) {
  return loadConfig({ env: { CONFIG_DIR: repoConfig, ...env } });
}

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateDer = keys.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
const publicPem = keys.publicKey.export({ format: 'pem', type: 'spki' }).toString();

describe('configuration', () => {
  it('loads the shipped defaults with the values the contract gives', () => {
    const config = loadConfig({ env: { CONFIG_DIR: repoConfig }, cwd: '/srv/app' });
    expect(config.values.KAFKA_BROKERS).toEqual(['localhost:9092']);
    expect(config.values.KAFKA_GROUP_ID).toBe('refund-notifier');
    const v = config.values;
    expect(allTopics(v)).toEqual(['refunds.initiated', 'refunds.completed', 'refunds.failed', 'refunds.stalled', 'refunds.initiated.dlq']);
    expect(outcomeTopics(v)).toEqual({ completed: 'refunds.completed', failed: 'refunds.failed', stalled: 'refunds.stalled' });
    expect(config.database).toMatchObject({ kind: 'sqlite', path: '/srv/app/data/refund-notifier.db' });
    expect(storeTarget(config)).toEqual({ kind: 'sqlite', path: '/srv/app/data/refund-notifier.db', sqliteSynchronous: 'full' });
    expect(pollSettings(v)).toEqual({ api: 'v2', concurrency: 16, requestTimeoutMs: 10_000, slowDownMs: 60_000 });
    expect([v.ANTOM_KEY_VERSION, v.ANTOM_RATE_LIMIT]).toEqual(['1', 50]);
    expect(scheduleSettings(v)).toEqual({
      firstDelayMs: 5_000,
      maxIntervalMs: 30 * 60_000,
      stalledAfterMs: 24 * 3_600_000,
      giveUpAfterMs: 30 * 86_400_000,
      notFoundGraceMs: 3_600_000,
      confirmFailureAfterMs: 5_000,
      jitter: 0.2,
    });
    expect(routingContext(v)).toEqual({ customerEmails: true, opsChannel: '#refunds', escalationChannel: '#refund-escalations', escalationEmailTo: [] });
    expect(notifySettings(v)).toMatchObject({ escalationChannel: '#refund-escalations', escalationEmailTo: [], fallbackAfterMs: 5 * 60_000 });
    expect(mailerSettings(v)).toBeUndefined();
    expect(v.EMAIL_FROM).toBe('Refunds <refunds@example.com>');
    expect(httpSettings(v)).toEqual({ host: '0.0.0.0', port: 8080, adminPort: 8081, notifyPath: '/antom/notify/refund', adminToken: undefined });
    expect(ingestSettings(v)).toEqual({
      groupId: 'refund-notifier',
      topic: 'refunds.initiated',
      deadLetterTopic: 'refunds.initiated.dlq',
      antomApi: 'v2',
      batchSize: expect.any(Number),
      sessionTimeoutMs: expect.any(Number),
    });
    expect(config.values.LOG_LEVEL).toBe('info');
  });

  it('every setting is in default.yaml and in docs/configuration.md', () => {
    const yaml = readFileSync(join(repoConfig, 'default.yaml'), 'utf8');
    const docs = readFileSync(join(import.meta.dirname, '../../docs/configuration.md'), 'utf8');
    for (const name of SETTING_NAMES) {
      expect(yaml, `default.yaml lacks ${name}`).toMatch(new RegExp(`^${name}:`, 'm'));
      expect(docs, `docs/configuration.md lacks ${name}`).toContain(`\`${name}\``);
    }
  });

  it('the environment wins over default.yaml', () => {
    const config = loadConfig({
      env: { CONFIG_DIR: repoConfig, KAFKA_BROKERS: 'a:1, b:2', POLL_FIRST_DELAY: '500ms', ANTOM_API: 'V1', CUSTOMER_EMAILS: 'off' },
    });
    expect(config.values.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(config.values.POLL_FIRST_DELAY).toBe(500);
    expect(config.values.ANTOM_API).toBe('v1');
    expect(config.values.CUSTOMER_EMAILS).toBe(false);
    expect(config.sources.KAFKA_BROKERS).toBe('env');
    expect(config.sources.KAFKA_GROUP_ID).toBe('default.yaml');
  });

  it('reads secrets from *_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rn-config-'));
    writeFileSync(join(dir, 'key'), `${privateDer}\n`);
    writeFileSync(join(dir, 'token'), 'xoxb-secret-token\n');
    const config = loadConfig({
      env: { CONFIG_DIR: repoConfig, ANTOM_PRIVATE_KEY_FILE: join(dir, 'key'), SLACK_BOT_TOKEN_FILE: join(dir, 'token') },
    });
    expect(config.values.ANTOM_PRIVATE_KEY).toBe(privateDer);
    expect(config.values.SLACK_BOT_TOKEN).toBe('xoxb-secret-token');
    expect(config.sources.ANTOM_PRIVATE_KEY).toBe('file');
    // A PostgreSQL URL carries its password: a mounted secret file (Kubernetes), not the environment.
    writeFileSync(join(dir, 'db'), 'postgres://app:pw@db:5432/refunds\n');
    expect(configOf({ DATABASE_URL_FILE: join(dir, 'db') }).database).toEqual({ kind: 'postgres', url: 'postgres://app:pw@db:5432/refunds' });
  });

  it('lists every problem at once, each naming the setting and what is wrong', () => {
    const problems = problemsOf({
      KAFKA_BROKERS: 'localhost',
      ANTOM_TIMEOUT: '10',
      ANTOM_RATE_LIMIT: 'fast',
      ANTOM_API: 'v3',
      HTTP_PORT: '70000',
      DATABASE_URL: 'mysql://x',
      ANTOM_PRIVATE_KEY: 'bm90IGEga2V5',
      ANTOM_PUBLIC_KEY: publicPem,
      SMTP_URL: 'http://mail',
      ESCALATION_EMAIL_TO: 'ops@example.com, finance',
      SLACK_OPS_CHANNEL: 'refunds',
      CUSTOMER_EMAILS: 'maybe',
      TOPIC_REFUND_FAILED: 'refunds.completed',
      POLL_STALLED_AFTER: '31d',
      KAFKA_SASL_MECHANISM: 'plain',
      DIGEST_TIMEZONE: 'Mars/Olympus_Mons',
    });
    const expected = [
      /^KAFKA_BROKERS must be comma-separated host:port pairs; not valid: localhost$/,
      /^ANTOM_TIMEOUT must be a duration such as 500ms/,
      /^ANTOM_RATE_LIMIT must be a whole number, got "fast"$/,
      /^ANTOM_API must be one of v1, v2, got "v3"$/,
      /^HTTP_PORT must be between 0 and 65535, got 70000$/,
      /^DATABASE_URL must start with sqlite: or postgres:\/\//,
      /^ANTOM_PRIVATE_KEY is not a base64 PKCS#8 DER RSA private key, nor a PEM one$/,
      /^SMTP_URL must use smtp:\/\/ or smtps:\/\//,
      /^ESCALATION_EMAIL_TO must be comma-separated email addresses; not valid: finance$/,
      /^SLACK_OPS_CHANNEL must be a channel name such as #refunds/,
      /^CUSTOMER_EMAILS must be true or false/,
      /^TOPIC_\*: the input, output and dead-letter topics must all be different$/,
      /^POLL_STALLED_AFTER \(31d\) must be shorter than POLL_GIVE_UP_AFTER \(30d\)$/,
      /^KAFKA_SASL_USERNAME is required when KAFKA_SASL_MECHANISM is plain$/,
      /^KAFKA_SASL_PASSWORD is required when KAFKA_SASL_MECHANISM is plain$/,
      /^DIGEST_TIMEZONE must be an IANA time zone such as UTC, Europe\/Berlin or Asia\/Singapore, got "Mars\/Olympus_Mons"$/,
    ];
    for (const pattern of expected) expect(problems.some((p) => pattern.test(p)), `${pattern} in ${problems.join('\n')}`).toBe(true);
    expect(problems).toHaveLength(expected.length);
  });

  it('ADMIN_PORT: a port of its own, validated like HTTP_PORT', () => {
    expect(problemsOf({ ADMIN_PORT: '70000' })).toEqual(['ADMIN_PORT must be between 0 and 65535, got 70000']);
    expect(problemsOf({ ADMIN_PORT: 'eighty' })).toEqual(['ADMIN_PORT must be a whole number, got "eighty"']);
    expect(problemsOf({ ADMIN_PORT: '' })).toEqual(['ADMIN_PORT is required (a port)']);
    expect(problemsOf({ HTTP_PORT: '9000', ADMIN_PORT: '9000' })).toEqual([
      "ADMIN_PORT (9000) must differ from HTTP_PORT: the admin listener must not share the port Antom's notifications come in on",
    ]);
    // 0 is "any free port" for each: two different ports, so both may say so (the tests do).
    expect(problemsOf({ HTTP_PORT: '0', ADMIN_PORT: '0' })).toEqual([]);
    expect(configOf({ ADMIN_PORT: '9090' }).values.ADMIN_PORT).toBe(9090);
  });

  it('the ConfigError message is one block an operator can read', () => {
    expect(() => loadConfig({ env: { CONFIG_DIR: repoConfig, HTTP_PORT: '-1', LOG_LEVEL: 'loud' } })).toThrow(
      /invalid configuration:\n {2}- HTTP_PORT must be between 0 and 65535, got -1\n {2}- LOG_LEVEL must be one of/,
    );
  });

  it('requires Antom credentials when asked to poll', () => {
    const problems = problemsOf({}, { requireAntomCredentials: true });
    expect(problems).toEqual([
      expect.stringMatching(/^ANTOM_BASE_URL is required to poll with ANTOM_API v2/),
      expect.stringMatching(/^ANTOM_CLIENT_ID is required to poll Antom/),
      expect.stringMatching(/^ANTOM_PRIVATE_KEY is required to poll Antom/),
      expect.stringMatching(/^ANTOM_PUBLIC_KEY is required to poll Antom/),
    ]);
  });

  it('v1 defaults to the classic AMS host; v2 has no default host', () => {
    expect(configOf({ ANTOM_API: 'v1' }).values.ANTOM_BASE_URL).toBe('https://open-sea-global.alipay.com');
    expect(problemsOf({ ANTOM_API: 'v1' }, { requireAntomCredentials: true }).join('\n')).not.toMatch(/ANTOM_BASE_URL/);
  });

  it('allows plain http only to a loopback host or with a SANDBOX_ client id', () => {
    const base = { ANTOM_CLIENT_ID: 'CLIENT_1' };
    expect(problemsOf({ ...base, ANTOM_BASE_URL: 'http://antom.example.com' })).toEqual([
      'ANTOM_BASE_URL must use https: (plain http is allowed only to a loopback host or with a SANDBOX_ client id), got http://antom.example.com',
    ]);
    expect(problemsOf({ ...base, ANTOM_BASE_URL: 'https://antom.example.com' })).toEqual([]);
    expect(problemsOf({ ...base, ANTOM_BASE_URL: 'http://127.0.0.1:8090' })).toEqual([]);
    expect(problemsOf({ ...base, ANTOM_BASE_URL: 'http://localhost:8090' })).toEqual([]);
    expect(problemsOf({ ANTOM_CLIENT_ID: 'SANDBOX_X', ANTOM_BASE_URL: 'http://antom-sandbox:8090' })).toEqual([]);
  });

  it('refuses an ANTOM_PUBLIC_KEY that is the public half of ANTOM_PRIVATE_KEY', () => {
    const ours = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const privateKey = ours.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const publicKey = ours.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const pem = ours.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(problemsOf({ ANTOM_PRIVATE_KEY: privateKey, ANTOM_PUBLIC_KEY: publicKey })).toEqual([
      "ANTOM_PUBLIC_KEY is the public half of ANTOM_PRIVATE_KEY: it must be Antom's public key (Dashboard > Developer > Keys), not ours",
    ]);
    expect(problemsOf({ ANTOM_PRIVATE_KEY: privateKey, ANTOM_PUBLIC_KEY_NEXT: pem })).toEqual([
      "ANTOM_PUBLIC_KEY_NEXT is the public half of ANTOM_PRIVATE_KEY: it must be Antom's public key (Dashboard > Developer > Keys), not ours",
    ]);
    const antom = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    expect(problemsOf({ ANTOM_PRIVATE_KEY: privateKey, ANTOM_PUBLIC_KEY: antom })).toEqual([]);
  });

  it('refuses a setting given both directly and as a file', () => {
    expect(problemsOf({ ADMIN_TOKEN: 'a', ADMIN_TOKEN_FILE: '/nonexistent' })).toEqual(
      expect.arrayContaining([
        'ADMIN_TOKEN: set either ADMIN_TOKEN or ADMIN_TOKEN_FILE, not both',
        expect.stringMatching(/^ADMIN_TOKEN_FILE: cannot read \/nonexistent \(ENOENT\)$/),
      ]),
    );
  });

  it('reports an unknown key and a YAML syntax error in default.yaml with the line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rn-config-'));
    mkdirSync(join(dir, 'config'));
    writeFileSync(join(dir, 'config', 'default.yaml'), 'KAFKA_BROKERZ: x:1\n');
    expect(problemsOf({ CONFIG_DIR: join(dir, 'config') })).toEqual(
      expect.arrayContaining([expect.stringMatching(/unknown setting KAFKA_BROKERZ/)]),
    );
    writeFileSync(join(dir, 'config', 'default.yaml'), 'KAFKA_BROKERS: a:1\nLOG_LEVEL: [info\n');
    expect(problemsOf({ CONFIG_DIR: join(dir, 'config') }).join('\n')).toMatch(/default\.yaml:\d+: /);
  });

  it('masks secrets in the printout', () => {
    const config = loadConfig({
      env: {
        CONFIG_DIR: repoConfig,
        ANTOM_PRIVATE_KEY: privateDer,
        SLACK_BOT_TOKEN: 'xoxb-very-secret',
        SMTP_URL: 'smtp://mailer:hunter2@mail.example.com:587',
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'svc',
        KAFKA_SASL_PASSWORD: 'kafka-pass',
        ADMIN_TOKEN: 'admin-token-value',
        DATABASE_URL: 'postgres://app:dbpass@db:5432/refunds',
      },
    });
    const text = describeConfig(config).join('\n');
    for (const secret of [privateDer.slice(0, 40), 'xoxb-very-secret', 'hunter2', 'kafka-pass', 'admin-token-value', 'dbpass']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toMatch(/SMTP_URL\s+= smtp:\/\/mailer:\*\*\*\*@mail\.example\.com:587/);
    expect(text).toMatch(/DATABASE_URL\s+= postgres:\/\/app:\*\*\*\*@db:5432\/refunds/);
    expect(text).toMatch(/SLACK_BOT_TOKEN\s+= \*\*\*\* \(set, 16 characters\) {2}\(env\)/);
  });

  it('shows each value by the format its setting declares: every duration as a duration, keys by their length', () => {
    const config = loadConfig({ env: { CONFIG_DIR: repoConfig, ANTOM_PUBLIC_KEY_NEXT: publicPem, SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/sekrit' } });
    const text = describeConfig(config).join('\n');
    const durations = SETTING_NAMES.filter((name) => SETTINGS[name].format === 'duration');
    // Among them the ones a hand-kept list once missed (they printed as bare milliseconds).
    expect(durations).toEqual(expect.arrayContaining(['NOTIFY_GIVE_UP_AFTER', 'CUSTOMER_EMAIL_GIVE_UP_AFTER', 'ANTOM_RESPONSE_MAX_AGE', 'POLL_CONFIRM_FAILURE_AFTER', 'NOTIFY_FALLBACK_AFTER']));
    for (const name of durations) expect(text).toMatch(new RegExp(`${name}\\s+= \\d+(\\.\\d+)?(ms|s|m|h|d)  \\(`));
    expect(text).toMatch(/NOTIFY_GIVE_UP_AFTER\s+= 1d/);
    expect(text).toMatch(/ANTOM_PUBLIC_KEY_NEXT\s+= \(set, \d+ characters\)/);
    expect(text).not.toContain('BEGIN PUBLIC KEY');
    expect(text).not.toContain('sekrit');
  });
});
