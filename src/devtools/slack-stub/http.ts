/**
 * The HTTP side of the Slack stub: reading a request body the way Slack accepts it (form-encoded,
 * as @slack/web-api sends it, or JSON), and writing an answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An answer to one request, and what `calls` records of it. */
export interface StubAnswer {
  readonly status: number;
  /** Slack's error code; absent when Slack would have accepted the request. */
  readonly error?: string;
  /** A JSON document for the Web API; plain text for a webhook. */
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export function send(res: ServerResponse, answer: StubAnswer): void {
  const text = typeof answer.body === 'string';
  res.writeHead(answer.status, {
    'content-type': text ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    ...answer.headers,
  });
  res.end(text ? answer.body : JSON.stringify(answer.body));
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function parseBody(raw: string, contentType: string | undefined): Record<string, any> {
  if (raw === '') return {};
  if (contentType?.includes('json')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, any>) : {};
    } catch {
      return {};
    }
  }
  const out: Record<string, any> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    // @slack/web-api JSON-encodes arrays and objects inside the form (blocks, attachments).
    if ((key === 'blocks' || key === 'attachments' || key === 'metadata') && value.startsWith('[')) {
      try {
        out[key] = JSON.parse(value);
        continue;
      } catch {
        // kept as text
      }
    }
    out[key] = value;
  }
  return out;
}
