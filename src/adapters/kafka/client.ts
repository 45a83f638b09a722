import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  ssl: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** Routes kafkajs' own log lines into pino, one level down: kafkajs is chatty at INFO. */
function pinoLogCreator(logger: Logger) {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, timestamp: _ts, logger: _l, ...rest } = log as LogEntry['log'] & { logger?: string };
      const target = level === logLevel.INFO ? 'debug' : (LEVELS[level] ?? 'debug');
      child[target](rest, message);
    };
}

// kafkajs' default (5 retries from 300 ms) gives up after ~10 s of broker trouble; a service
// should ride out a broker restart, so retry for about a minute before surfacing an error.
export const KAFKA_RETRY = { initialRetryTime: 300, retries: 10, maxRetryTime: 10_000 } as const;

export function createKafka(settings: KafkaSettings, logger: Logger): Kafka {
  // KafkaJS 2's warning about its default partitioner is noise for us: keys are refund ids and
  // the Java-compatible murmur2 default is what other services in the mesh use too.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const config: KafkaConfig = {
    clientId: settings.clientId,
    brokers: settings.brokers,
    ssl: settings.ssl,
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(logger),
    retry: KAFKA_RETRY,
  };
  if (settings.sasl) {
    config.sasl = {
      mechanism: settings.sasl.mechanism,
      username: settings.sasl.username,
      password: settings.sasl.password,
    } as SASLOptions;
  }
  return new Kafka(config);
}
