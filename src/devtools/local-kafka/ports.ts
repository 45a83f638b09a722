/**
 * The broker's two ports (PLAINTEXT for clients, CONTROLLER for the KRaft quorum): picking free
 * ones for a new broker, and finding out who took one when a restart cannot bind it again.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';

/** Listener name -> port, as in server.properties. PLAINTEXT is the one clients use. */
export type BrokerPorts = { PLAINTEXT: number; CONTROLLER: number };

/**
 * Two ports the OS reports free right now. Both listeners stay open until both ports are known, so
 * they differ. Another process could grab one before the JVM binds it; that shows up as a
 * BindException in the error's log tail, and a retry picks new ports.
 */
export async function twoFreePorts(): Promise<{ port: number; controllerPort: number }> {
  const listen = (): Promise<Server> =>
    new Promise((resolveServer, rejectServer) => {
      const server = createServer();
      server.once('error', rejectServer);
      server.listen(0, '127.0.0.1', () => resolveServer(server));
    });
  const servers = await Promise.all([listen(), listen()]);
  const [port, controllerPort] = servers.map((s) => (s.address() as AddressInfo).port) as [number, number];
  await Promise.all(servers.map((s) => new Promise<void>((done) => s.close(() => done()))));
  return { port, controllerPort };
}
/**
 * Names the port the JVM could not bind, from its log; undefined if the failure was something else.
 * Kafka logs "Socket server failed to bind to <host>:<port>: Address already in use." and exits.
 */
export function bindFailure(logText: string, ports: Record<string, number>): string | undefined {
  if (!/Address already in use|BindException/.test(logText)) return undefined;
  const port = Number(/failed to bind to [^\s:]+:(\d+)/.exec(logText)?.[1]);
  const named = Object.entries(ports).find(([, p]) => p === port);
  return named
    ? portName(named[0], named[1])
    : `one of its ports (${Object.entries(ports)
        .map(([name, p]) => portName(name, p))
        .join(', ')})`;
}

function portName(listener: string, port: number): string {
  return `the ${listener} port 127.0.0.1:${port}`;
}

/** Which of `ports` another process listens on right now, named like bindFailure() names them. */
export async function takenPorts(ports: Record<string, number>): Promise<string[]> {
  const taken: string[] = [];
  for (const [listener, port] of Object.entries(ports)) {
    const inUse = await new Promise<boolean>((resolveProbe, rejectProbe) => {
      const server = createServer();
      server.once('error', (err: NodeJS.ErrnoException) =>
        err.code === 'EADDRINUSE' ? resolveProbe(true) : rejectProbe(err),
      );
      // Node listens with SO_REUSEADDR, like the JVM: the dead broker's TIME_WAIT connections do
      // not count as taken, only a listener does.
      server.listen(port, '127.0.0.1', () => server.close(() => resolveProbe(false)));
    });
    if (inUse) taken.push(portName(listener, port));
  }
  return taken;
}
