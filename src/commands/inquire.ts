import { parseArgs } from 'node:util';
import { createAntomClient, requestBody, type AntomClientSettings } from '../adapters/antom/client.js';
import { createLogger } from '../adapters/log/logger.js';
import { classifyInquiry, type Classification } from '../domain/classify.js';
import { InvalidInputError } from '../domain/errors.js';
import type { InquiryOutcome, InquiryQuery } from '../domain/inquiry.js';
import type { ResultCodeTable } from '../domain/result-codes.js';
import { parseOrUsage, type CommandIo } from './io.js';

const USAGE = [
  'usage: refund-notifier inquire <refundId> [--request-id ID] [--merchant-account-id ID] [--json]',
  '       refund-notifier inquire --request-id ID            (v1 only: by refundRequestId)',
  '',
  '  Makes one signed inquiryRefund call with the configured ANTOM_* settings, prints the answer',
  '  and how the service would classify it. Exit code 0 when a verified answer came back.',
];

/** `refund-notifier inquire <refundId>`: one signed inquiry, its answer and its classification. */
export async function inquireCommand(
  args: string[],
  io: CommandIo,
  settings: AntomClientSettings,
  table: ResultCodeTable,
): Promise<number> {
  const parsed = parseOrUsage(io, USAGE, () => parse(args));
  if (typeof parsed === 'number') return parsed;
  const query = parsed.query;
  try {
    requestBody(settings.api, query);
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    for (const problem of err.problems) io.err(problem);
    for (const line of USAGE) io.err(line);
    return 2;
  }

  const logger = createLogger({
    level: io.env.LOG_LEVEL ?? 'warn',
    name: 'refund-notifier',
    destination: { write: (line: string) => io.err(line.trimEnd()) },
  });
  const client = createAntomClient(settings, { logger });
  let outcome: InquiryOutcome;
  try {
    outcome = await client.inquireRefund(query);
  } finally {
    await client.close();
  }
  const classification = classifyInquiry(outcome, table);

  if (parsed.json) {
    io.out(JSON.stringify({ request: { url: `${new URL(settings.baseUrl).origin}${client.inquiryPath}`, api: settings.api, query }, outcome, classification }, null, 2));
  } else {
    io.out(`POST ${new URL(settings.baseUrl).origin}${client.inquiryPath} (${settings.api}, client id ${settings.clientId})`);
    io.out(`request:  ${JSON.stringify(requestBody(settings.api, query))}`);
    for (const line of describeOutcome(outcome)) io.out(line);
    for (const line of describeClassification(classification)) io.out(line);
  }
  return outcome.kind === 'answer' ? 0 : 1;
}

function parse(args: string[]): { query: InquiryQuery; json: boolean; help: boolean } {
  const { values, positionals } = parseArgs({
    args,
    options: {
      'request-id': { type: 'string' },
      'merchant-account-id': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 1) throw new Error(`one refund id at a time, got ${positionals.length}`);
  const refundId = positionals[0];
  const query: InquiryQuery = {
    refundId,
    refundRequestId: values['request-id'],
    merchantAccountId: values['merchant-account-id'],
  };
  return { query, json: values.json ?? false, help: values.help ?? false };
}

function describeOutcome(outcome: InquiryOutcome): string[] {
  switch (outcome.kind) {
    case 'answer':
      return [
        `answer:   HTTP ${outcome.httpStatus}, signature verified`,
        `  result:       ${outcome.result.resultCode} / ${outcome.result.resultStatus} / ${outcome.result.resultMessage}`,
        ...(outcome.refundStatus === undefined ? [] : [`  refundStatus: ${outcome.refundStatus}`]),
        ...(outcome.refundTime === undefined ? [] : [`  refundTime:   ${outcome.refundTime}`]),
        `  body:         ${JSON.stringify(outcome.body)}`,
      ];
    case 'unsigned-answer':
      return [
        `answer:   HTTP ${outcome.httpStatus}, NOT signed (a gateway error, accepted as transient)`,
        `  result:       ${outcome.result.resultCode} / ${outcome.result.resultStatus} / ${outcome.result.resultMessage}`,
        `  body:         ${JSON.stringify(outcome.body)}`,
      ];
    case 'rejected':
      return [`answer:   HTTP ${outcome.httpStatus}, REJECTED (${outcome.reason}): ${outcome.message}`];
    case 'transport-error':
      return [
        `answer:   none (${outcome.error}): ${outcome.message}`,
        ...(outcome.retryAfterMs === undefined ? [] : [`  Retry-After:  ${outcome.retryAfterMs} ms`]),
      ];
  }
}

function describeClassification(c: Classification): string[] {
  const lines = [`classification: ${c.kind}`];
  const add = (label: string, value: unknown): void => {
    if (value !== undefined) lines.push(`  ${`${label}:`.padEnd(14)}${String(value)}`);
  };
  switch (c.kind) {
    case 'completed':
      add('refundStatus', c.refundStatus);
      add('refundTime', c.refundTime);
      break;
    case 'failed':
      add('reasonCode', c.reasonCode);
      add('resultCode', c.resultCode);
      add('escalate', c.escalate);
      add('playbook', c.playbook);
      break;
    case 'pending':
      add('refundStatus', c.refundStatus);
      break;
    case 'retry':
      add('reason', c.reason);
      add('slowDown', c.slowDown);
      add('retryAfterMs', c.retryAfterMs);
      add('alert', c.alert);
      break;
    case 'integration-fault':
      add('reasonCode', c.reasonCode);
      add('message', c.message);
      add('playbook', c.playbook);
      break;
    case 'not-found':
      add('reasonCode', c.reasonCode);
      add('playbook', c.playbook);
      break;
  }
  return lines;
}
