/**
 * Email addresses as the service accepts them, in one place: the customer's address in a
 * refund-initiated record, EMAIL_FROM and ESCALATION_EMAIL_TO, the addresses in routing.yaml and
 * the senders, reply-to and support addresses in merchants.yaml.
 */

/**
 * A pragmatic address check: one @, no spaces, a dot in the domain. RFC 5322 allows more, but an
 * address that fails this is a typo in practice, and SMTP servers reject the exotic forms anyway.
 */
export const EMAIL_ADDRESS = /^[^\s@<>()",;]+@[^\s@<>()",;]+\.[^\s@<>()",;]+$/;

// C0 controls, DEL and the Unicode line and paragraph separators: none belongs in a mail header,
// and a line break in one would end the header and start another (header injection).
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\0-\x1F\x7F\u0085\u2028\u2029]/;

/** Whether `text` holds a control character or a line break. */
export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}

export function isEmailAddress(text: string): boolean {
  return EMAIL_ADDRESS.test(text);
}

/** The address of a sender: `Name <user@example.com>` -> `user@example.com`; a bare address as is. */
export function senderAddress(sender: string): string {
  const inBrackets = /<([^>]+)>\s*$/.exec(sender);
  return (inBrackets ? inBrackets[1]! : sender).trim();
}

/**
 * What is wrong with a sender (`user@example.com` or `Name <user@example.com>`), or undefined.
 * Used for EMAIL_FROM and the merchants' `from` and `replyTo`.
 */
export function senderProblem(sender: string): string | undefined {
  if (hasControlCharacter(sender)) return `must be on one line, without control characters, got ${JSON.stringify(sender)}`;
  if (!isEmailAddress(senderAddress(sender))) return `must be an address or "Name <address>", got "${sender}"`;
  return undefined;
}

/** The domain of a sender (`Name <user@Example.com>` -> `example.com`). */
export function senderAddressDomain(sender: string): string {
  const address = senderAddress(sender);
  return address.slice(address.lastIndexOf('@') + 1).trim().toLowerCase();
}
