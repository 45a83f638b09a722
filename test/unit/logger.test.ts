import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, maskEmail } from '../../src/adapters/log/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

describe('logs', () => {
  it('never carry secrets or customer addresses', () => {
    const { logger, lines } = capture();
    logger.info({
      privateKey: 'MIIEvQIBADANBgkq',
      config: { SLACK_BOT_TOKEN: 'xoxb-1', SMTP_URL: 'smtp://u:p@h', ANTOM_PRIVATE_KEY: 'MIIE' },
      customer: { email: 'jane@example.com', name: 'Jane' },
      headers: { authorization: 'Bearer abc' },
      password: 'hunter2',
    }, 'hello');
    const text = lines.join('');
    for (const secret of ['MIIEvQIBADANBgkq', 'xoxb-1', 'smtp://u:p@h', 'MIIE"', 'jane@example.com', 'Bearer abc', 'hunter2']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('"name":"Jane"');
    expect(text).toContain('[redacted]');
  });

  it('masks an email to something correlatable but not contactable', () => {
    expect(maskEmail('jane.doe@example.com')).toBe('j***@e***.com');
    expect(maskEmail(undefined)).toBeUndefined();
    expect(maskEmail('broken')).toBe('***');
  });
});
