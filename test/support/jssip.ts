/**
 * JsSIP (npm `jssip`, the SIP stack of many WebRTC web phones) as a WebSocket client of the stand-in's WS
 * listener (RFC 7118). JsSIP's own WebSocketInterface wants a browser's global WebSocket, which Node 20 lacks;
 * WsSocket is the same small adapter over the `ws` package, speaking the `sip` subprotocol as browsers do.
 */
import WebSocket from 'ws';
import { UA, Socket } from 'jssip';
import type { RegisteredEvent, UnRegisteredEvent } from 'jssip/lib/UA';

/** A JsSIP Socket over `ws`: what a browser's WebSocket gives WebSocketInterface, in Node. */
export class WsSocket implements Socket {
  private ws: WebSocket | undefined;
  private viaTransport = 'WS';

  constructor(private readonly wsUrl: string) {}

  get via_transport(): string {
    return this.viaTransport;
  }

  set via_transport(value: string) {
    this.viaTransport = value.toUpperCase();
  }

  get url(): string {
    return this.wsUrl;
  }

  get sip_uri(): string {
    const { hostname, port } = new URL(this.wsUrl);
    return `sip:${hostname}${port ? `:${port}` : ''};transport=ws`;
  }

  connect(): void {
    if (this.isConnected() || this.isConnecting()) return;
    const ws = new WebSocket(this.wsUrl, 'sip');
    this.ws = ws;
    ws.on('open', () => this.onconnect());
    ws.on('message', (data: WebSocket.RawData) => this.ondata(data.toString()));
    ws.on('close', (code: number, reason: Buffer) => this.ondisconnect(code !== 1000, code, reason.toString()));
    // An error is followed by 'close', which reports it to JsSIP.
    ws.on('error', () => undefined);
  }

  disconnect(): void {
    const ws = this.ws;
    this.ws = undefined;
    ws?.removeAllListeners();
    ws?.on('error', () => undefined);
    ws?.close();
  }

  send(message: string | ArrayBufferLike | Blob | ArrayBufferView): boolean {
    if (!this.isConnected() || typeof message !== 'string') return false;
    this.ws?.send(message);
    return true;
  }

  isConnected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  isConnecting(): boolean {
    return this.ws?.readyState === WebSocket.CONNECTING;
  }

  /** The source port of the connection, as the server sees it. */
  localPort(): number | undefined {
    return (this.ws as unknown as { _socket?: { localPort?: number } } | undefined)?._socket?.localPort;
  }

  // Replaced by JsSIP's Transport when the UA takes the socket.
  onconnect(): void {}
  ondisconnect(_error: boolean, _code?: number, _reason?: string): void {}
  ondata<T>(_event: T): void {}
}

export interface JssipPhone {
  ua: UA;
  socket: WsSocket;
  /** Starts the UA (which then registers) and resolves on its first `registered` event (rejects on `registrationFailed`). */
  register(timeoutMs?: number): Promise<RegisteredEvent>;
  /** Un-REGISTERs and resolves on `unregistered`. */
  unregister(timeoutMs?: number): Promise<UnRegisteredEvent>;
  stop(): void;
}

export function createJssipPhone(opts: { wsUrl: string; user: string; password: string; realm: string; expires?: number }): JssipPhone {
  const socket = new WsSocket(opts.wsUrl);
  const ua = new UA({
    sockets: [socket],
    uri: `sip:${opts.user}@${opts.realm}`,
    password: opts.password,
    // Registers as soon as the WebSocket is up, as web phones do.
    register: true,
    register_expires: opts.expires ?? 600,
    user_agent: 'JsSIP (sip-sidecar test)',
    // No reconnection storm if the stand-in goes away before the UA is stopped.
    connection_recovery_min_interval: 30,
  });
  const once = <T>(ok: string, fail: string | undefined, timeoutMs: number, act: () => void): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`JsSIP: no "${ok}" within ${timeoutMs} ms`)), timeoutMs);
      ua.once(ok as 'registered', (event: unknown) => {
        clearTimeout(timer);
        resolve(event as T);
      });
      if (fail) {
        ua.once(fail as 'registrationFailed', (event: UnRegisteredEvent) => {
          clearTimeout(timer);
          reject(new Error(`JsSIP: ${fail} (${String(event.cause)})`));
        });
      }
      act();
    });
  return {
    ua,
    socket,
    register: (timeoutMs = 10000) => once<RegisteredEvent>('registered', 'registrationFailed', timeoutMs, () => ua.start()),
    unregister: (timeoutMs = 10000) => once<UnRegisteredEvent>('unregistered', undefined, timeoutMs, () => ua.unregister()),
    stop: () => ua.stop(),
  };
}
