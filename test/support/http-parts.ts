import type { OutboxDispatcher } from '../../src/app/dispatch-outbox.js';
import { createAntomHealthWindow } from '../../src/app/antom-health.js';
import type { PollLoop } from '../../src/app/poll-refunds.js';
import { systemClock, type RefundStore } from '../../src/app/ports.js';
import { antomClientSettings } from '../../src/adapters/antom/settings.js';
import type { IngestConsumer } from '../../src/adapters/kafka/ingest-consumer.js';
import type { HttpParts } from '../../src/composition/http.js';
import type { AppConfig } from '../../src/config/load.js';
import { quietLogger } from './fakes.js';

/**
 * What wireHttp needs, standing still: a healthy ingest, a running poll loop, a connected producer,
 * and a notification receiver that knows no refund. For tests of routing, not of what /readyz and
 * /metrics read.
 */
export function standingHttpParts(config: AppConfig, store: RefundStore, over: Partial<HttpParts> = {}): HttpParts {
  return {
    logger: quietLogger,
    clock: systemClock,
    owner: 'http-test',
    store,
    ingest: { stats: {}, health: () => ({ ok: true, problems: [] }), lag: async () => [] } as unknown as IngestConsumer,
    poller: { stats: { byKind: {} }, isRunning: () => true, wake: () => undefined } as unknown as PollLoop,
    dispatcher: { stats: {} } as unknown as OutboxDispatcher,
    antom: antomClientSettings(config),
    receiveNotification: async () => ({ status: 'unknown-refund' as const }),
    producerConnected: () => true,
    antomHealth: createAntomHealthWindow({ clock: systemClock }),
    ...over,
  };
}
