import { formatDuration } from './duration.js';
import type { AppConfig } from './load.js';
import { SETTINGS, SETTING_NAMES, type SettingName } from './settings.js';

const DURATION_SETTINGS = new Set<SettingName>([
  'ANTOM_TIMEOUT',
  'KAFKA_SESSION_TIMEOUT',
  'POLL_FIRST_DELAY',
  'POLL_MAX_INTERVAL',
  'POLL_STALLED_AFTER',
  'POLL_GIVE_UP_AFTER',
  'SHUTDOWN_TIMEOUT',
  'POLL_NOT_FOUND_GRACE',
  'ANTOM_SLOWDOWN',
  'OUTBOX_RETENTION',
  'NOTIFY_GROUP_WINDOW',
  'NOTIFY_GROUP_UPDATE_INTERVAL',
  'NOTIFY_STALE_AFTER',
  'STALLED_REMINDER_INTERVAL',
]);

/** A URL with its password replaced, so `config check` can show where without showing how. */
export function maskUrlCredentials(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '****';
    return url.toString();
  } catch {
    return '****';
  }
}

export function maskSetting(name: SettingName, value: unknown): string {
  if (value === undefined) return '(unset)';
  const spec = SETTINGS[name] as { secret?: boolean };
  if (name === 'DATABASE_URL') {
    const target = value as AppConfig['database'];
    return target.kind === 'sqlite' ? `sqlite:${target.path}` : maskUrlCredentials(target.url);
  }
  if (name === 'SMTP_URL') return maskUrlCredentials(String(value));
  if (spec.secret) return `**** (set, ${String(value).length} characters)`;
  if (name === 'ANTOM_PUBLIC_KEY') return `(set, ${String(value).length} characters)`;
  if (DURATION_SETTINGS.has(name) && typeof value === 'number') return formatDuration(value);
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

/** One line per setting: `NAME=value  (source)`, secrets masked. */
export function describeConfig(config: AppConfig): string[] {
  const width = Math.max(...SETTING_NAMES.map((n) => n.length));
  return SETTING_NAMES.map((name) => {
    const shown = name === 'DATABASE_URL' ? maskSetting(name, config.database) : maskSetting(name, config.values[name]);
    return `${name.padEnd(width)} = ${shown}  (${config.sources[name]})`;
  });
}
