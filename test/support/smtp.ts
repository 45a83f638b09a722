import { expect } from 'vitest';
import { EmailError } from '../../src/adapters/email/mailer.js';

/** The SMTP capture server lives in src/devtools (the demo uses it too); tests import it from here. */
export {
  startSmtpCapture,
  type CapturedEnvelope,
  type ReceivedMessage,
  type SmtpCapture,
  type SmtpCaptureOptions,
} from '../../src/devtools/smtp-capture.js';

/** The EmailError a send fails with (and a test failure if it does not fail). */
export async function emailFailure(promise: Promise<unknown>): Promise<EmailError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(EmailError);
    return err as EmailError;
  }
  throw new Error('expected the send to fail');
}
