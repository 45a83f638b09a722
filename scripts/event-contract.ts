/**
 * Generates the event contract documents from the zod schemas in src/domain (the single source):
 *   schemas/refund-initiated.schema.json, schemas/refund-{completed,failed,stalled}.schema.json,
 *   docs/asyncapi.yaml (AsyncAPI 3.0).
 * `npx tsx scripts/event-contract.ts` writes them; test/unit/event-contract.test.ts fails when
 * the committed files differ from what this generates.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { z } from 'zod';
import { refundCompletedEventSchema, refundFailedEventSchema, refundStalledEventSchema } from '../src/domain/outcome-event.js';
import { refundInitiatedSchema } from '../src/domain/refund-initiated.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const BASE_ID = 'https://refund-notifier.example.com/schemas';

function jsonSchema(schema: z.ZodType, name: string, title: string, description: string): Record<string, unknown> {
  // draft-07: the dialect AsyncAPI 3 schemas are a superset of, and what most validators speak.
  // Input mode: objects stay open (no additionalProperties: false), so adding a field to the
  // contract later does not break a consumer that validates strictly.
  const generated = z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, $id: `${BASE_ID}/${name}.schema.json`, title, description, ...rest };
}

export function renderEventContract(): Record<string, string> {
  const schemas = {
    'refund-initiated': jsonSchema(
      refundInitiatedSchema,
      'refund-initiated',
      'Refund initiated',
      'Input on TOPIC_REFUND_INITIATED: a plain JSON value, the data of a structured-mode CloudEvent, or the value of a binary-mode one. Unknown fields are ignored.',
    ),
    'refund-completed': jsonSchema(refundCompletedEventSchema, 'refund-completed', 'refund.completed', 'A refund reached SUCCESS at Antom (CloudEvents 1.0, structured mode).'),
    'refund-failed': jsonSchema(refundFailedEventSchema, 'refund-failed', 'refund.failed', 'A refund reached a final failure at Antom (CloudEvents 1.0, structured mode).'),
    'refund-stalled': jsonSchema(
      refundStalledEventSchema,
      'refund-stalled',
      'refund.stalled',
      'A refund is not final after POLL_STALLED_AFTER (stage 1) or polling stopped after POLL_GIVE_UP_AFTER (stage 2). Not an outcome.',
    ),
  } as const;

  const files: Record<string, string> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    files[`schemas/${name}.schema.json`] = `${JSON.stringify(schema, null, 2)}\n`;
  }

  const payload = (name: keyof typeof schemas) => {
    const { $schema: _s, $id: _i, ...schema } = schemas[name];
    return { schemaFormat: 'application/schema+json;version=draft-07', schema };
  };
  const kafkaKey = { bindings: { kafka: { key: { type: 'string', description: 'the refund id' }, bindingVersion: '0.5.0' } } };
  // W3C Trace Context as Kafka headers (docs/operations.md, "Tracing").
  const traceHeaders = {
    traceparent: {
      type: 'string',
      pattern: '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$',
      description: 'W3C traceparent: the same as the event\'s traceparent attribute (the refund\'s trace; the parent id is the publishing span)',
    },
    tracestate: { type: 'string', description: 'W3C tracestate of the initiating record, when it had one' },
  };
  const ceHeaders = {
    type: 'object',
    properties: { 'content-type': { type: 'string', const: 'application/cloudevents+json' }, ...traceHeaders },
    required: ['content-type'],
  };
  const inputHeaders = {
    type: 'object',
    description:
      'All optional. A W3C trace context is taken from the traceparent header (with tracestate), else from the CloudEvents distributed-tracing extension (the traceparent attribute of a structured-mode event, the ce_traceparent header of a binary-mode one); none, or none valid (version 00, non-zero ids, lower-case hex): a new trace is started. An invalid one never dead-letters the record.',
    properties: {
      traceparent: { type: 'string', description: 'W3C traceparent of the producer\'s span' },
      tracestate: { type: 'string', description: 'W3C tracestate; repeated headers are one list' },
      ce_traceparent: { type: 'string', description: 'binary-mode CloudEvents: the distributed-tracing extension' },
      ce_tracestate: { type: 'string', description: 'binary-mode CloudEvents: the distributed-tracing extension' },
    },
  };
  const outcomeMessage = (name: 'refund-completed' | 'refund-failed' | 'refund-stalled', summary: string) => ({
    name: name.replace('-', '.'),
    title: schemas[name].title,
    summary,
    contentType: 'application/cloudevents+json',
    headers: ceHeaders,
    payload: payload(name),
    ...kafkaKey,
  });

  const asyncapi = {
    asyncapi: '3.0.0',
    info: {
      title: 'refund-notifier events',
      version: '1.0.0',
      description: [
        'The Kafka contract of refund-notifier: what it consumes and what it publishes.',
        '',
        '- Outcome events are CloudEvents 1.0 in structured mode, keyed by the refund id.',
        '- Event ids are deterministic (`<refundId>:<type>`, plus `:<stage>` for refund.stalled): a redelivery carries the same id.',
        '- Exactly one refund.completed or refund.failed is ever produced per refund; consumers may see a redelivery (at-least-once), never two different outcomes.',
        '- Traces: the W3C trace context of the initiating record (traceparent header or CloudEvents distributed-tracing extension; a new trace when it has none) is carried to the outcome events, as their traceparent extension attribute and traceparent header.',
        '- Topic names are the defaults; each is a setting (TOPIC_*).',
        '',
        'Generated from the zod schemas by scripts/event-contract.ts; do not edit by hand.',
      ].join('\n'),
    },
    defaultContentType: 'application/json',
    channels: {
      refundsInitiated: {
        address: 'refunds.initiated',
        description: 'TOPIC_REFUND_INITIATED. Plain JSON, or a CloudEvents 1.0 event in structured or binary mode (ce_* headers).',
        messages: {
          refundInitiated: {
            name: 'refund.initiated',
            title: 'Refund initiated',
            contentType: 'application/json',
            headers: inputHeaders,
            payload: payload('refund-initiated'),
          },
        },
      },
      refundsCompleted: {
        address: 'refunds.completed',
        description: 'TOPIC_REFUND_COMPLETED',
        messages: { refundCompleted: outcomeMessage('refund-completed', 'The refund reached SUCCESS.') },
      },
      refundsFailed: {
        address: 'refunds.failed',
        description: 'TOPIC_REFUND_FAILED',
        messages: { refundFailed: outcomeMessage('refund-failed', 'The refund reached a final failure; reasonCode says why.') },
      },
      refundsStalled: {
        address: 'refunds.stalled',
        description: 'TOPIC_REFUND_STALLED',
        messages: { refundStalled: outcomeMessage('refund-stalled', 'The refund is not final past its deadline; not an outcome.') },
      },
      deadLetter: {
        address: 'refunds.initiated.dlq',
        description:
          'TOPIC_DEAD_LETTER: input records that could not be accepted, unchanged (key, value, headers), with x-dlq-reason, x-dlq-source-topic, x-dlq-source-partition, x-dlq-source-offset (and x-dlq-source-timestamp, x-dlq-consumer-group). A record too large to copy whole (over 900 KiB with its headers) arrives as a stub: its key, the x-dlq-* headers without the original headers, the first 64 KiB of its value, and x-dlq-truncated: true, x-dlq-original-size, x-dlq-original-sha256 (hex).',
        messages: {
          deadLetter: {
            name: 'dead-letter',
            title: 'Refused input record',
            headers: {
              type: 'object',
              properties: {
                'x-dlq-reason': { type: 'string' },
                'x-dlq-source-topic': { type: 'string' },
                'x-dlq-source-partition': { type: 'string' },
                'x-dlq-source-offset': { type: 'string' },
                'x-dlq-source-timestamp': { type: 'string' },
                'x-dlq-consumer-group': { type: 'string' },
                'x-dlq-truncated': { type: 'string', enum: ['true'], description: 'on a stub only: the value is the first 64 KiB of the original' },
                'x-dlq-original-size': { type: 'string', description: 'on a stub only: the size of the original value in bytes' },
                'x-dlq-original-sha256': { type: 'string', description: 'on a stub only: the SHA-256 of the original value, hex' },
              },
              required: ['x-dlq-reason', 'x-dlq-source-topic', 'x-dlq-source-partition', 'x-dlq-source-offset'],
            },
            payload: { description: 'the refused record value, byte for byte' },
          },
        },
      },
    },
    operations: {
      consumeRefundInitiated: { action: 'receive', channel: { $ref: '#/channels/refundsInitiated' } },
      publishRefundCompleted: { action: 'send', channel: { $ref: '#/channels/refundsCompleted' } },
      publishRefundFailed: { action: 'send', channel: { $ref: '#/channels/refundsFailed' } },
      publishRefundStalled: { action: 'send', channel: { $ref: '#/channels/refundsStalled' } },
      publishDeadLetter: { action: 'send', channel: { $ref: '#/channels/deadLetter' } },
    },
  };
  files['docs/asyncapi.yaml'] = `# Generated by scripts/event-contract.ts from the zod schemas in src/domain; do not edit.\n${stringify(asyncapi, { lineWidth: 0 })}`;
  return files;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [path, content] of Object.entries(renderEventContract())) {
    mkdirSync(dirname(join(REPO, path)), { recursive: true });
    writeFileSync(join(REPO, path), content);
    console.log(`wrote ${path}`);
  }
}
