import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SETTINGS, type SettingName } from '../../src/config/settings.js';

const root = join(import.meta.dirname, '..', '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { image?: string; build?: unknown; command?: string[]; environment?: Record<string, unknown>; depends_on?: Record<string, unknown> }>;
  volumes?: Record<string, unknown>;
};

/** Names a user may set: every setting, plus `<NAME>_FILE` for the ones read from files. */
const knownNames = new Set<string>(
  (Object.keys(SETTINGS) as SettingName[]).flatMap((name) =>
    (SETTINGS[name] as { fileVariant?: boolean }).fileVariant ? [name, `${name}_FILE`] : [name],
  ),
);

describe('docker-compose.yml', () => {
  it('has Kafka (official image, KRaft), the service, PostgreSQL, Mailpit and the Antom sandbox', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['antom-sandbox', 'kafka', 'mailpit', 'postgres', 'refund-notifier']);
    expect(compose.services.kafka!.image).toMatch(/^apache\/kafka:4\./);
    expect(compose.services.kafka!.environment).toMatchObject({ KAFKA_PROCESS_ROLES: 'broker,controller' });
    expect(compose.services.postgres!.image).toMatch(/^postgres:/);
    expect(compose.services.mailpit!.image).toMatch(/^axllent\/mailpit/);
  });

  it('configures the service only with settings of the contract', () => {
    const env = compose.services['refund-notifier']!.environment ?? {};
    const unknown = Object.keys(env).filter((name) => !knownNames.has(name));
    expect(unknown).toEqual([]);
    expect(env).toMatchObject({ KAFKA_BROKERS: 'kafka:9092', SMTP_URL: 'smtp://mailpit:1025' });
    expect(String(env.DATABASE_URL)).toMatch(/^postgres:\/\/.*@postgres:5432\//);
    expect(String(env.ANTOM_BASE_URL)).toBe('http://antom-sandbox:8090');
  });

  it('points the sandbox notifications at the service notify path, and the service at the sandbox', () => {
    const sandbox = compose.services['antom-sandbox']!;
    expect(sandbox.command?.[0]).toBe('antom-sandbox');
    const notify = sandbox.command![sandbox.command!.indexOf('--notify-url') + 1];
    expect(notify).toBe(`http://refund-notifier:${compose.services['refund-notifier']!.environment!.HTTP_PORT}/antom/notify/refund`);
  });

  it('publishes the admin listener on this machine only, apart from the notify port', () => {
    const service = compose.services['refund-notifier']! as { environment: Record<string, unknown>; ports: string[] };
    const { HTTP_PORT: http, ADMIN_PORT: admin } = service.environment;
    expect(admin).not.toBe(http);
    expect(service.ports).toContain(`${http}:${http}`);
    expect(service.ports).toContain(`127.0.0.1:${admin}:${admin}`);
  });

  it('starts the service after the broker, the database and the sandbox (its keys) are healthy', () => {
    expect(compose.services['refund-notifier']!.depends_on).toMatchObject({
      kafka: { condition: 'service_healthy' },
      postgres: { condition: 'service_healthy' },
      'antom-sandbox': { condition: 'service_healthy' },
    });
  });

  it('uses only sandbox flags the antom-sandbox command knows, and the client id the service sends', async () => {
    const source = readFileSync(join(root, 'src/commands/antom-sandbox.ts'), 'utf8');
    const flags = compose.services['antom-sandbox']!.command!.filter((a) => a.startsWith('--'));
    for (const flag of flags) expect(source, flag).toMatch(new RegExp(`['\\s]${flag.slice(2)}'?: \\{ type:`));
    const command = compose.services['antom-sandbox']!.command!;
    expect(command[command.indexOf('--client-id') + 1]).toBe(compose.services['refund-notifier']!.environment!.ANTOM_CLIENT_ID);
  });

  it('declares every named volume it mounts', () => {
    const mounted = Object.values(compose.services)
      .flatMap((s) => ((s as { volumes?: string[] }).volumes ?? []).map((v) => v.split(':')[0]!))
      .filter((v) => !v.startsWith('.') && !v.startsWith('/'));
    for (const v of mounted) expect(compose.volumes).toHaveProperty(v);
  });
});
