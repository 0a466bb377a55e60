/**
 * drachtio's cache of stream connections from registered clients (cacheTportForSubscription): after a 200 to
 * a REGISTER (or a 2xx to a SUBSCRIBE) received over TCP/WS, later INVITE/OPTIONS/NOTIFY/MESSAGE requests to
 * that Contact's user@host go out on the same connection, whatever the request-URI host says (WebRTC/NAT).
 */
import { StreamConnection } from './sip-transports';

interface Entry {
  connection: StreamConnection;
  expiresAt: number;
}

/** Methods for which an app's new request may reuse a cached connection. */
export const CACHE_USING_METHODS = new Set(['INVITE', 'OPTIONS', 'NOTIFY', 'MESSAGE']);

export class ConnectionCache {
  private readonly entries = new Map<string, Entry>();

  remember(user: string | undefined, host: string, connection: StreamConnection, expiresSeconds: number): void {
    this.entries.set(key(user, host), { connection, expiresAt: Date.now() + expiresSeconds * 1000 });
  }

  forget(user: string | undefined, host: string): void {
    this.entries.delete(key(user, host));
  }

  find(user: string | undefined, host: string): StreamConnection | undefined {
    const entry = this.entries.get(key(user, host));
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now() || !entry.connection.isOpen()) {
      this.entries.delete(key(user, host));
      return undefined;
    }
    return entry.connection;
  }

  clear(): void {
    this.entries.clear();
  }
}

function key(user: string | undefined, host: string): string {
  return `${user ?? ''}@${host.toLowerCase()}`;
}
