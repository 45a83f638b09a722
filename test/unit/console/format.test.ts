import { describe, expect, it } from 'vitest';
import { duration, maskedEmail, maskEmailsIn } from '../../../src/adapters/http/console/format.js';

describe('console formatting', () => {
  it('masks a customer address as the logs do', () => {
    expect(maskedEmail('jane.doe@example.com')).toBe('j***@e***.com');
    expect(maskedEmail(undefined)).toBe('—');
  });

  it('masks every address inside free text (an SMTP error), and leaves the rest', () => {
    expect(maskEmailsIn('550 5.1.1 <jane.doe@example.com>: Recipient address rejected; cc bob@mail.example.org')).toBe(
      '550 5.1.1 <j***@e***.com>: Recipient address rejected; cc b***@m***.org',
    );
    expect(maskEmailsIn('slack: channel_not_found')).toBe('slack: channel_not_found');
    expect(maskEmailsIn(undefined)).toBe('');
  });

  it('writes spans with their two largest units', () => {
    expect(duration(800)).toBe('800 ms');
    expect(duration(65_000)).toBe('1 min 5 s');
    expect(duration(3 * 86_400_000 + 4 * 3_600_000 + 59_000)).toBe('3 d 4 h');
    expect(duration(2 * 3_600_000 + 30_000)).toBe('2 h');
  });
});
