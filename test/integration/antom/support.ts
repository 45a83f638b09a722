import { createLogger, type Logger } from '../../../src/adapters/log/logger.js';

export { until } from '../../support/kafka.js';

export interface CapturedLogger {
  readonly logger: Logger;
  /** Every line written, parsed. */
  readonly lines: Array<Record<string, unknown>>;
  /** Every line as written, for "this secret never appears" checks. */
  readonly raw: string[];
}

/** A real pino logger (with the project's redaction) whose output the test can read. */
export function capturedLogger(level = 'debug'): CapturedLogger {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const logger = createLogger({
    level,
    destination: {
      write(text: string) {
        raw.push(text);
        lines.push(JSON.parse(text) as Record<string, unknown>);
      },
    },
  });
  return { logger, lines, raw };
}
