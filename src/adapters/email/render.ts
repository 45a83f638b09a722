import { formatMinorUnits } from '../../domain/money.js';
import { orderReference, refundLabel, type NotificationContent } from '../../domain/notification-content.js';
import type { NotificationSubject } from '../../domain/routing.js';
import { FALLBACK_LOCALE, localeChain, type TemplateScope, type TemplateSet } from './templates.js';

/**
 * What goes into each email template. Values are handed over raw: the template set escapes them
 * for HTML, keeps them as they are in plain text, and flattens them to one line in subjects.
 */

export interface RenderedEmail {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  /** The template locale used (after fallback). */
  readonly locale: string;
}

/**
 * How the customer email presents who refunded them: a merchant's entry in config/merchants.yaml,
 * or the service's defaults. Every field but the accent may be absent; the templates then say
 * "the refunds team" and "reply to this email".
 */
export interface EmailBrand {
  /** The merchant's display name, e.g. "Acme Store". */
  readonly displayName?: string;
  /** https URL of a logo image (shown above the heading, `alt` = displayName). */
  readonly logoUrl?: string;
  /** `#rrggbb`: the heading rule and links. */
  readonly accentColor?: string;
  readonly supportEmail?: string;
  readonly supportUrl?: string;
  readonly supportPhone?: string;
}

/** The accent when no brand gives one: the shipped templates' blue. */
export const DEFAULT_ACCENT_COLOR = '#0969da';

export interface CustomerEmailOptions {
  /** Who refunded: the merchant's brand, or none (the service's defaults). */
  readonly brand?: EmailBrand;
  /**
   * The zone the refund date is shown in. UTC by default: the customer's zone is not in the event,
   * and a date is what the email shows (not a time), so at most a day boundary is at stake.
   */
  readonly timeZone?: string;
}

/**
 * The locale numbers and dates are formatted in: the customer's own (`fr-CA`) when the template
 * is in its language (`fr`), else the template's, so an English fallback email does not carry
 * Brazilian number formatting.
 */
function formattingLocale(requested: string | undefined, templateLocale: string): string {
  // The requested tag's own chain, without the English every chain ends with: `pt-BR` falling
  // back to the English template formats in English, `en-GB` with the English one in en-GB.
  const chain = localeChain(requested);
  const own = requested && chain.length > 0 && chain[0]!.split('-')[0] === FALLBACK_LOCALE ? chain : chain.slice(0, -1);
  const locale = own.includes(templateLocale) ? own[0]! : templateLocale;
  const digits = requestedDigits(requested) ?? TEMPLATE_DIGITS[templateLocale.split('-')[0]!];
  if (!digits) return locale;
  try {
    return new Intl.Locale(locale, { numberingSystem: digits }).toString();
  } catch {
    return locale;
  }
}

/**
 * The digits a template language's amounts and dates are written in, where CLDR's default depends
 * on the region and the email should not. Arabic: Latin digits (1,250.500), not Arabic-Indic
 * (١٬٢٥٠٫٥٠٠), for every Arabic customer. CLDR gives ar-KW, ar-SA, ar-QA, ar-BH, ar-OM and ar-EG
 * Arabic-Indic digits but ar, ar-AE, ar-MA and ar-DZ Latin ones, so two customers in the same
 * market would read different digits; the refund id, order number and support phone beside the
 * amount are Latin whatever we do; the card or bank statement the customer checks the refund on
 * shows Latin digits in the Gulf; and one choice makes the amount a fixed string that tests and
 * screenshots can look for (docs/notifications.md, "Locales, amounts and dates", Digits in Arabic).
 */
const TEMPLATE_DIGITS: Readonly<Record<string, string>> = { ar: 'latn' };

/** The numbering system a tag asks for itself (`ar-KW-u-nu-arab`), which is honoured. */
function requestedDigits(requested: string | undefined): string | undefined {
  if (!requested) return undefined;
  try {
    return new Intl.Locale(requested.trim().replace(/_/g, '-')).numberingSystem;
  } catch {
    return undefined;
  }
}

// Building an Intl.DateTimeFormat costs far more than using one (bench/notify: rendering ran at
// about half speed without this); a handful of locale and zone pairs repeat for every email.
const dateFormats = new Map<string, Intl.DateTimeFormat>();

function formatDate(epochMs: number, locale: string, timeZone: string): string {
  const key = `${locale}|${timeZone}`;
  let format = dateFormats.get(key);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone });
    } catch {
      format = new Intl.DateTimeFormat('en', { dateStyle: 'long', timeZone: 'UTC' });
    }
    dateFormats.set(key, format);
  }
  return format.format(new Date(epochMs));
}

/** The customer's "your refund is complete" email, in their language where there is a template. */
export function renderCustomerCompleted(
  subject: NotificationSubject,
  templates: TemplateSet,
  options: CustomerEmailOptions = {},
): RenderedEmail {
  const requested = subject.customer?.locale;
  const templateLocale = templates.resolveLocale('customer-completed', requested);
  const locale = formattingLocale(requested, templateLocale);
  const refundedAt = subject.refundTime !== undefined ? Date.parse(subject.refundTime) : Number.NaN;
  const name = subject.customer?.name?.trim();
  return templates.render('customer-completed', requested, {
    name: name === '' ? undefined : name,
    amount: subject.refundAmount ? formatMinorUnits(subject.refundAmount, locale) : undefined,
    refundId: refundLabel(subject),
    paymentId: subject.paymentId,
    orderRef: orderReference(subject.metadata),
    date: formatDate(Number.isNaN(refundedAt) ? subject.detectedAt : refundedAt, locale, options.timeZone ?? 'UTC'),
    ...brandScope(options.brand),
  });
}

function brandScope(brand: EmailBrand | undefined): TemplateScope {
  return {
    brand: brand?.displayName,
    logoUrl: brand?.logoUrl,
    accent: brand?.accentColor ?? DEFAULT_ACCENT_COLOR,
    supportEmail: brand?.supportEmail,
    supportUrl: brand?.supportUrl,
    supportPhone: brand?.supportPhone,
    // The template language has no "or": one flag says whether there is a support line to show.
    support: Boolean(brand?.supportEmail || brand?.supportUrl || brand?.supportPhone),
  };
}

/**
 * The operations email: an escalation, a group, a stalled refund, an outage summary. It renders
 * the same NotificationContent as the Slack message, so it doubles as Slack's fallback.
 */
export function renderEscalationEmail(content: NotificationContent, templates: TemplateSet): RenderedEmail {
  return templates.render('escalation', 'en', {
    title: content.title,
    text: content.text,
    severity: content.severity,
    facts: content.facts.map((f) => ({ label: f.label, value: f.value })),
    playbook: content.playbook,
    sections: (content.sections ?? []).map((s) => ({ heading: s.heading, items: s.items, more: s.more ?? 0 })),
    note: content.note,
  });
}
