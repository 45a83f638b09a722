import { formatDuration } from './duration.js';
import type { AppConfig } from './load.js';
import { SETTINGS, SETTING_NAMES, type DatabaseTarget, type SettingName, type SettingSpec } from './settings.js';

/** A URL with its password replaced, so `config check` can show where without showing how. */
function maskUrlCredentials(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '****';
    return url.toString();
  } catch {
    return '****';
  }
}

/** How `config check` shows a value: by the format its spec declares, secrets masked. */
function maskSetting(name: SettingName, value: unknown): string {
  if (value === undefined) return '(unset)';
  const spec: SettingSpec = SETTINGS[name];
  switch (spec.format) {
    case 'url-with-credentials':
      // DATABASE_URL arrives parsed into its target; SMTP_URL as text.
      if (typeof value === 'object' && value !== null && 'kind' in value) {
        const target = value as DatabaseTarget;
        return target.kind === 'sqlite' ? `sqlite:${target.path}` : maskUrlCredentials(target.url);
      }
      return maskUrlCredentials(String(value));
    case 'rsa-key':
      // A public key is no secret, but a page of base64 helps nobody: its length tells it is set.
      return spec.secret ? `**** (set, ${String(value).length} characters)` : `(set, ${String(value).length} characters)`;
    case 'duration':
      return typeof value === 'number' ? formatDuration(value) : String(value);
    default:
      if (spec.secret) return `**** (set, ${String(value).length} characters)`;
      return Array.isArray(value) ? value.join(',') : String(value);
  }
}

/** One line per setting: `NAME=value  (source)`, secrets masked. */
export function describeConfig(config: AppConfig): string[] {
  const width = Math.max(...SETTING_NAMES.map((n) => n.length));
  return SETTING_NAMES.map((name) => {
    const shown = name === 'DATABASE_URL' ? maskSetting(name, config.database) : maskSetting(name, config.values[name]);
    return `${name.padEnd(width)} = ${shown}  (${config.sources[name]})`;
  });
}
