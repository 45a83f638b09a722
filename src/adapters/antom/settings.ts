import type { AntomClientSettings } from './client.js';
import { ConfigError } from '../../domain/errors.js';
import type { AppConfig } from '../../config/load.js';

/**
 * The Antom client's settings from the validated configuration; the credentials must be set.
 * ANTOM_BASE_URL is always set here: the loader fills in v1's default gateway.
 */
export function antomClientSettings(config: AppConfig): AntomClientSettings {
  const v = config.values;
  const missing = (['ANTOM_CLIENT_ID', 'ANTOM_PRIVATE_KEY', 'ANTOM_PUBLIC_KEY'] as const).filter((name) => !v[name]);
  if (missing.length > 0) throw new ConfigError(missing.map((name) => `${name} is required to poll Antom`));
  return {
    baseUrl: v.ANTOM_BASE_URL ?? '',
    api: v.ANTOM_API,
    inquiryPath: v.ANTOM_INQUIRY_PATH,
    clientId: v.ANTOM_CLIENT_ID!,
    privateKey: v.ANTOM_PRIVATE_KEY!,
    antomPublicKey: v.ANTOM_PUBLIC_KEY!,
    antomPublicKeyNext: v.ANTOM_PUBLIC_KEY_NEXT,
    responseMaxAgeMs: v.ANTOM_RESPONSE_MAX_AGE,
    keyVersion: v.ANTOM_KEY_VERSION,
    timeoutMs: v.ANTOM_TIMEOUT,
    connections: v.ANTOM_CONCURRENCY,
  };
}
