import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 the OS reports free right now, for a process started next that needs
 * to be told its port in advance (an Antom notify URL). Another process could take it first; the
 * callers start at once.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
