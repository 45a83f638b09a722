import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void> | void;

/**
 * One entry of a listener's route table: `method` and an exact `path`, or with `prefix` every
 * path that starts with it (`/admin/` takes `/admin/refunds/R-1`). The first match answers.
 */
export interface HttpRoute {
  readonly method: string;
  readonly path: string;
  readonly prefix?: boolean;
  readonly handler: RouteHandler;
}

export interface HttpServerOptions {
  /** Which listener this is (`notify`, `admin`): in its log lines. */
  name: string;
  host: string;
  port: number;
  logger: Logger;
  /** Everything this listener serves; any other request gets 404. */
  routes: readonly HttpRoute[];
  /** Largest request body accepted; Antom notifications are a few KiB. */
  maxBodyBytes?: number;
}

export interface HttpServer {
  start(): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * One HTTP listener serving a route table and nothing else. The service runs two (src/composition/
 * http.ts): the notify listener that faces Antom, and the admin listener for operators and probes.
 */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const log = options.logger.child({ component: 'http', listener: options.name });
  const maxBody = options.maxBodyBytes ?? 1_048_576;
  let server: Server | undefined;
  let closing: Promise<void> | undefined;

  async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > maxBody) return undefined;
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = options.routes.find((r) => r.method === req.method && (r.prefix ? path.startsWith(r.path) : path === r.path));
    if (!route) return sendJson(res, 404, { error: 'not found' });
    const body = await readBody(req);
    if (body === undefined) return sendJson(res, 413, { error: `body larger than ${maxBody} bytes` });
    await route.handler(req, res, body);
  }

  return {
    start() {
      return new Promise((resolve, reject) => {
        server = createServer((req, res) => {
          handle(req, res).catch((err: unknown) => {
            log.error({ err, method: req.method, url: req.url }, 'request failed');
            if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
            else res.destroy();
          });
        });
        // Slow clients must not pin sockets forever; Antom's notify and admin calls are small.
        server.requestTimeout = 30_000;
        server.headersTimeout = 10_000;
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          const { port } = server!.address() as AddressInfo;
          const host = options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
          log.info({ host: options.host, port }, 'http listening');
          resolve({ url: `http://${host}:${port}`, port });
        });
      });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
