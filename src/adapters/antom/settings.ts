import type { AntomClientSettings } from './client.js';
import { ConfigError } from '../../domain/errors.js';
import type { AppConfig } from '../../config/load.js';

/** The Antom client's settings from the validated configuration; the credentials must be set. */
export function antomClientSettings(config: AppConfig): AntomClientSettings {
  const { clientId, privateKey, publicKey } = config.antom;
  const missing = [
    clientId ? undefined : 'ANTOM_CLIENT_ID',
    privateKey ? undefined : 'ANTOM_PRIVATE_KEY',
    publicKey ? undefined : 'ANTOM_PUBLIC_KEY',
  ].filter((x): x is string => x !== undefined);
  if (missing.length > 0) throw new ConfigError(missing.map((name) => `${name} is required to poll Antom`));
  return {
    baseUrl: config.antom.baseUrl,
    api: config.antom.api,
    ...(config.antom.inquiryPath ? { inquiryPath: config.antom.inquiryPath } : {}),
    clientId: clientId!,
    privateKey: privateKey!,
    antomPublicKey: publicKey!,
    ...(config.antom.publicKeyNext ? { antomPublicKeyNext: config.antom.publicKeyNext } : {}),
    responseMaxAgeMs: config.antom.responseMaxAgeMs,
    keyVersion: config.antom.keyVersion,
    timeoutMs: config.antom.timeoutMs,
    connections: config.antom.concurrency,
  };
}
