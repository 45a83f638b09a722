/** The SMTP capture server lives in src/devtools (the demo uses it too); tests import it from here. */
export {
  startSmtpCapture,
  type CapturedEnvelope,
  type SmtpCapture,
  type SmtpCaptureOptions,
} from '../../src/devtools/smtp-capture.js';
