/**
 * A TCP forwarder in front of MySQL or Redis that a test can cut (every connection dropped, new ones
 * refused) and restore, to make a dependency unreachable without stopping the shared server, or slow
 * down (every chunk held for a while), to make it answer late.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  /** Holds every chunk, both ways, for `ms` before passing it on (0: at once again). */
  delay(ms: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1', port = 0): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let boundPort = port;
  let delayMs = 0;
  // Chunks held with the same delay leave in the order they came (timers of equal duration fire in order).
  const forward = (from: net.Socket, to: net.Socket) => {
    const later = (send: () => void) => (delayMs === 0 ? send() : setTimeout(() => { if (!to.destroyed) send(); }, delayMs));
    from.on('data', (chunk: Buffer) => later(() => to.write(chunk)));
    from.on('end', () => later(() => to.end()));
  };

  const listen = () => new Promise<void>((resolve) => {
    server = net.createServer((client) => {
      const upstream = net.connect(targetPort, targetHost);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => { client.destroy(); upstream.destroy(); });
      }
      forward(client, upstream);
      forward(upstream, client);
    });
    server.listen(boundPort, '127.0.0.1', () => {
      boundPort = (server?.address() as net.AddressInfo).port;
      resolve();
    });
  });

  const stop = () => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (!server) return resolve();
    server.close(() => resolve());
    server = undefined;
  });

  await listen();
  return {
    get port() { return boundPort; },
    cut: stop,
    restore: listen,
    delay: (ms) => { delayMs = ms; },
    close: stop,
  };
}
