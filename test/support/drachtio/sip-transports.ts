/**
 * The SIP side of the stand-in: UDP and TCP listeners on the same port number, an optional WebSocket
 * listener (RFC 7118, subprotocol `sip`, one SIP message per WebSocket message), and outbound TCP/WS
 * connections. Every complete message is emitted as 'message'.
 *
 * UDP "port unreachable" detection: sofia reads ICMP errors from its UDP socket (IP_RECVERR), which
 * Node cannot do on an unconnected socket. Requests the server originates are therefore sent through a
 * UDP socket *connected* to the destination and bound to the listener's own port (SO_REUSEADDR), so the
 * source address/port on the wire are unchanged and the kernel reports ECONNREFUSED on that socket.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * Receive buffer of the stand-in's UDP sockets. A production SBC host raises net.core.rmem_max for drachtio;
 * with Linux's 208 KB default, bursts from sipp under load are dropped here and retransmitted 0.5 s later,
 * which would be charged to the service's latency. The kernel caps it at net.core.rmem_max.
 */
const UDP_RECEIVE_BUFFER = 4 * 1024 * 1024;
import { SipStreamSplitter } from './sip-stream';

export type SipProto = 'udp' | 'tcp' | 'ws';
export type StreamProto = 'tcp' | 'ws';

export interface Listener {
  proto: SipProto;
  address: string;
  port: number;
}

export interface StreamConnection {
  readonly proto: StreamProto;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The local listener of this protocol (what the server reports as "received on"). */
  readonly listener: Listener;
  isOpen(): boolean;
  send(data: Buffer): void;
  /** Stops sending (half-close); the peer may still send. */
  shutdown(): void;
  close(): void;
}

export interface InboundMessage {
  data: Buffer;
  proto: SipProto;
  remoteAddress: string;
  remotePort: number;
  listener: Listener;
  connection?: StreamConnection;
}

export interface TransportOptions {
  host: string;
  sipPort: number;
  wsPort: number | false;
  log: (line: string) => void;
}

const BIND_ATTEMPTS = 20;

function normaliseAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}

/** A TCP connection carrying SIP; frames the byte stream and answers keepalive pings. */
class TcpConnection implements StreamConnection {
  readonly proto = 'tcp' as const;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private readonly splitter = new SipStreamSplitter();

  constructor(private readonly socket: net.Socket, readonly listener: Listener, onMessage: (c: TcpConnection, data: Buffer) => void) {
    this.remoteAddress = normaliseAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    socket.on('data', (chunk: Buffer) => {
      for (const item of this.splitter.push(chunk)) {
        if (item.type === 'message') onMessage(this, item.data);
        else if (item.type === 'ping') socket.write('\r\n');
        else socket.destroy();
      }
    });
  }

  isOpen(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  send(data: Buffer): void {
    this.socket.write(data);
  }

  shutdown(): void {
    this.socket.end();
  }

  close(): void {
    this.socket.destroy();
  }
}

class WsConnection implements StreamConnection {
  readonly proto = 'ws' as const;

  constructor(private readonly ws: WebSocket, readonly listener: Listener, readonly remoteAddress: string, readonly remotePort: number) {}

  isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(data: Buffer): void {
    this.ws.send(data.toString('utf8'));
  }

  shutdown(): void {
    this.ws.close();
  }

  close(): void {
    this.ws.terminate();
  }
}

export class SipTransports extends EventEmitter {
  private udp?: dgram.Socket;
  private tcpServer?: net.Server;
  private wsServer?: WebSocketServer;
  private readonly listenersByProto = new Map<SipProto, Listener>();
  private readonly connections = new Set<StreamConnection>();
  private readonly connectedUdp = new Map<string, Promise<dgram.Socket>>();

  constructor(private readonly opts: TransportOptions) {
    super();
  }

  listener(proto: SipProto): Listener | undefined {
    return this.listenersByProto.get(proto);
  }

  /** Every SIP listener (named so as not to clash with EventEmitter#listeners). */
  sipListeners(): Listener[] {
    return [...this.listenersByProto.values()];
  }

  async start(): Promise<void> {
    await this.bindUdpAndTcp();
    if (this.opts.wsPort !== false) await this.startWs(this.opts.wsPort);
  }

  async stop(): Promise<void> {
    for (const connection of [...this.connections]) connection.close();
    const sockets = await Promise.allSettled([...this.connectedUdp.values()]);
    for (const s of sockets) if (s.status === 'fulfilled') closeQuietly(s.value);
    this.connectedUdp.clear();
    if (this.udp) closeQuietly(this.udp);
    await Promise.all([
      this.tcpServer ? new Promise<void>((resolve) => this.tcpServer?.close(() => resolve())) : undefined,
      this.wsServer ? new Promise<void>((resolve) => this.wsServer?.close(() => resolve())) : undefined,
    ]);
  }

  // ------------------------------------------------------------------------------------------ sending

  /** Sends from the UDP listener socket (responses to UAS requests). */
  sendDatagram(data: Buffer, address: string, port: number): void {
    this.udp?.send(data, port, address);
  }

  /**
   * Sends through a UDP socket connected to the destination; 'unreachable' is emitted if the kernel
   * reports the port unreachable (now or on a later send). Resolves once the datagram has been handed to
   * the kernel, so a grace period measured from then covers the ICMP round trip.
   */
  async sendDatagramConnected(data: Buffer, address: string, port: number): Promise<void> {
    const socket = await this.connectedUdpSocket(address, port);
    await new Promise<void>((resolve) => {
      socket.send(data, (err) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ECONNREFUSED') this.emit('unreachable', 'udp', address, port);
        resolve();
      });
    });
  }

  findConnection(proto: StreamProto, address: string, port: number): StreamConnection | undefined {
    for (const c of this.connections) {
      if (c.proto === proto && c.remoteAddress === address && c.remotePort === port && c.isOpen()) return c;
    }
    return undefined;
  }

  /** Opens an outbound stream connection; rejects with the socket error (e.g. ECONNREFUSED). */
  connect(proto: StreamProto, address: string, port: number): Promise<StreamConnection> {
    return proto === 'tcp' ? this.connectTcp(address, port) : this.connectWs(address, port);
  }

  // ------------------------------------------------------------------------------------------ binding

  private async bindUdpAndTcp(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
      const server = net.createServer((socket) => this.acceptTcp(socket));
      try {
        await listen(server, this.opts.sipPort, this.opts.host);
      } catch (err) {
        throw new Error(`cannot listen on tcp ${this.opts.host}:${this.opts.sipPort}: ${(err as Error).message}`);
      }
      const port = (server.address() as net.AddressInfo).port;
      try {
        this.udp = await this.bindUdp(port);
        this.tcpServer = server;
        this.setListener('tcp', port);
        this.setListener('udp', port);
        return;
      } catch (err) {
        lastError = err;
        await new Promise<void>((resolve) => server.close(() => resolve()));
        if (this.opts.sipPort !== 0) break;
      }
    }
    throw new Error(`cannot bind udp next to tcp: ${(lastError as Error)?.message}`);
  }

  private bindUdp(port: number): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: UDP_RECEIVE_BUFFER });
      socket.once('error', reject);
      socket.bind(port, this.opts.host, () => {
        socket.off('error', reject);
        socket.on('error', (err) => this.opts.log(`udp socket error: ${err.message}`));
        socket.on('message', (data, rinfo) => this.emitDatagram(data, rinfo));
        resolve(socket);
      });
    });
  }

  private async startWs(port: number): Promise<void> {
    const server = new WebSocketServer({
      host: this.opts.host,
      port,
      // RFC 7118 clients offer the `sip` subprotocol; one that does not is accepted without the header.
      handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', () => resolve());
      server.once('error', reject);
    });
    this.wsServer = server;
    this.setListener('ws', (server.address() as net.AddressInfo).port);
    server.on('connection', (ws, req) => {
      this.adoptWs(ws, normaliseAddress(req.socket.remoteAddress), req.socket.remotePort ?? 0);
    });
  }

  private setListener(proto: SipProto, port: number): void {
    this.listenersByProto.set(proto, { proto, address: this.opts.host, port });
  }

  // ---------------------------------------------------------------------------------------- receiving

  private emitDatagram(data: Buffer, rinfo: dgram.RemoteInfo): void {
    const listener = this.listenersByProto.get('udp');
    if (!listener) return;
    const message: InboundMessage = { data, proto: 'udp', remoteAddress: rinfo.address, remotePort: rinfo.port, listener };
    this.emit('message', message);
  }

  private acceptTcp(socket: net.Socket): void {
    const listener = this.listenersByProto.get('tcp');
    if (!listener) {
      socket.destroy();
      return;
    }
    this.adoptTcp(socket, listener);
  }

  private adoptTcp(socket: net.Socket, listener: Listener): TcpConnection {
    socket.setNoDelay(true);
    const connection = new TcpConnection(socket, listener, (c, data) => this.emitStream(c, data));
    this.connections.add(connection);
    socket.on('error', (err) => this.opts.log(`tcp ${connection.remoteAddress}:${connection.remotePort} error: ${err.message}`));
    socket.on('close', () => this.untrack(connection));
    return connection;
  }

  private adoptWs(ws: WebSocket, remoteAddress: string, remotePort: number): WsConnection | undefined {
    const listener = this.listenersByProto.get('ws');
    if (!listener) {
      ws.terminate();
      return undefined;
    }
    const connection = new WsConnection(ws, listener, remoteAddress, remotePort);
    this.connections.add(connection);
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => this.emitStream(connection, toBuffer(data)));
    ws.on('error', (err) => this.opts.log(`ws ${remoteAddress}:${remotePort} error: ${err.message}`));
    ws.on('close', () => this.untrack(connection));
    return connection;
  }

  private emitStream(connection: StreamConnection, data: Buffer): void {
    const message: InboundMessage = {
      data,
      proto: connection.proto,
      remoteAddress: connection.remoteAddress,
      remotePort: connection.remotePort,
      listener: connection.listener,
      connection,
    };
    this.emit('message', message);
  }

  private untrack(connection: StreamConnection): void {
    if (!this.connections.delete(connection)) return;
    this.emit('connection-closed', connection);
  }

  // ----------------------------------------------------------------------------------------- outbound

  private connectTcp(address: string, port: number): Promise<StreamConnection> {
    const listener = this.listenersByProto.get('tcp');
    if (!listener) return Promise.reject(new Error('no tcp listener'));
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: address, port, localAddress: listener.address });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(this.adoptTcp(socket, listener));
      });
    });
  }

  private connectWs(address: string, port: number): Promise<StreamConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${address}:${port}`, 'sip');
      ws.once('error', reject);
      ws.once('open', () => {
        ws.off('error', reject);
        const connection = this.adoptWs(ws, address, port);
        if (connection) resolve(connection);
        else reject(new Error('no ws listener'));
      });
    });
  }

  private connectedUdpSocket(address: string, port: number): Promise<dgram.Socket> {
    const key = `${address}:${port}`;
    let socket = this.connectedUdp.get(key);
    if (!socket) {
      socket = this.openConnectedUdp(address, port);
      this.connectedUdp.set(key, socket);
      socket.catch(() => this.connectedUdp.delete(key));
    }
    return socket;
  }

  private openConnectedUdp(address: string, port: number): Promise<dgram.Socket> {
    const listener = this.listenersByProto.get('udp');
    if (!listener) return Promise.reject(new Error('no udp listener'));
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: UDP_RECEIVE_BUFFER });
      socket.once('error', reject);
      socket.bind(listener.port, listener.address, () => {
        socket.connect(port, address, () => {
          socket.off('error', reject);
          socket.on('error', (err: NodeJS.ErrnoException) => {
            if (err.code === 'ECONNREFUSED') this.emit('unreachable', 'udp', address, port);
            else this.opts.log(`udp ${address}:${port} error: ${err.message}`);
          });
          socket.on('message', (data, rinfo) => this.emitDatagram(data, rinfo));
          resolve(socket);
        });
      });
    });
  }
}

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
