import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../../src/adapters/log/logger.js';

/** A real pino logger writing into memory, so a test can check what reached the log. */
export function captureLogs(level = 'trace'): { logger: Logger; text(): string } {
  let out = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out += chunk.toString();
      callback();
    },
  });
  const logger = createLogger({ level, destination: destination as never });
  return { logger, text: () => out };
}
