/**
 * A completed refund as notifications see it (NotificationSubject), for the rendering and mailer
 * tests: one base, and each test overrides what it is about (amount, customer, times, metadata).
 */
import type { NotificationSubject } from '../../src/domain/routing.js';

export function completedSubject(overrides: Partial<NotificationSubject> = {}): NotificationSubject {
  return {
    event: 'refund.completed',
    refundKey: 'R-1',
    refundId: 'R-1',
    paymentId: 'P-1',
    status: 'SUCCESS',
    refundAmount: { currency: 'USD', value: '1250' },
    customer: { email: 'jane.doe@example.com', name: 'Jane', locale: 'en' },
    refundTime: '2024-11-25T16:00:00Z',
    detectedAt: Date.UTC(2024, 10, 25, 16),
    ...overrides,
  };
}

/** The refund the localisation tests render: an id, payment and order of their own, in 2025. */
export function localisedSubject(locale: string, overrides: Partial<NotificationSubject> = {}): NotificationSubject {
  return completedSubject({
    refundKey: 'R-2025-0042',
    refundId: 'R-2025-0042',
    paymentId: 'P-889',
    customer: { email: 'c@example.com', name: 'Kim', locale },
    refundTime: '2025-03-04T10:00:00Z',
    detectedAt: Date.UTC(2025, 2, 4, 10),
    metadata: { orderId: 'ORD-7' },
    ...overrides,
  });
}
