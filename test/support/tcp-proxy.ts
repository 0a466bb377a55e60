/**
 * A TCP forwarder in front of MySQL or Redis that a test can cut (every connection dropped, new ones
 * refused) and restore, to make a dependency unreachable without stopping the shared server.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1', port = 0): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let boundPort = port;

  const listen = () => new Promise<void>((resolve) => {
    server = net.createServer((client) => {
      const upstream = net.connect(targetPort, targetHost);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => { client.destroy(); upstream.destroy(); });
      }
      client.pipe(upstream).pipe(client);
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
    close: stop,
  };
}
