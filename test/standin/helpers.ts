/**
 * Helpers for the stand-in's own tests: a raw admin client that records every TCP chunk it receives,
 * raw UDP/TCP SIP peers, and bounded waits.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { FrameDecoder, encodeFrame } from '../support/drachtio/framing';
import { DrachtioStandIn, StandInOptions } from '../support/drachtio';

export const SECRET = 'cymru';

/** Rejects after `ms` unless `promise` settles first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts a stand-in, runs `fn`, and always stops it. */
export async function withStandIn<T>(options: Partial<StandInOptions>, fn: (s: DrachtioStandIn) => Promise<T>): Promise<T> {
  const standIn = new DrachtioStandIn({ secret: SECRET, ...options });
  await standIn.start();
  try {
    return await fn(standIn);
  } finally {
    await standIn.stop();
  }
}

/** One decoded admin message: the header tokens and the SIP part (after the first CRLF). */
export interface AdminMessage {
  tokens: string[];
  sip?: string;
  raw: string;
  /** Index of the TCP chunk that carried the end of this message. */
  chunk: number;
}

function decodeAdmin(payload: string, chunk: number): AdminMessage {
  const nl = payload.indexOf('\r\n');
  const header = nl < 0 ? payload : payload.slice(0, nl);
  return { tokens: header.split('|'), sip: nl < 0 ? undefined : payload.slice(nl + 2), raw: payload, chunk };
}

/** A raw client of the admin port, for replaying captured exchanges byte for byte. */
export class RawAdminClient {
  readonly messages: AdminMessage[] = [];
  chunks = 0;
  closed = false;
  private readonly decoder = new FrameDecoder(10);
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (data: Buffer) => {
      this.chunks++;
      for (const payload of this.decoder.push(data)) this.messages.push(decodeAdmin(payload, this.chunks));
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<RawAdminClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject);
        resolve(new RawAdminClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Connects and authenticates with the right secret and no tags. */
  static async authenticated(port: number, routes: string[] = []): Promise<RawAdminClient> {
    const client = await RawAdminClient.connect(port);
    const id = client.send(`authenticate|${SECRET}|`);
    await client.reply(id);
    for (const verb of routes) await client.reply(client.send(`route|${verb}`));
    return client;
  }

  /** Sends `<msgId>|<rest>` and returns the msg id. */
  send(rest: string, msgId: string = randomUUID()): string {
    this.socket.write(encodeFrame(`${msgId}|${rest}`));
    return msgId;
  }

  /** The first message (from `from` on) that satisfies `match`. */
  async next(match: (m: AdminMessage) => boolean, ms = 3000, what = 'an admin message', from = 0): Promise<AdminMessage> {
    const find = () => this.messages.slice(from).find(match);
    return withTimeout(new Promise<AdminMessage>((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found) return resolve(found);
        if (this.closed) return reject(new Error(`connection closed while waiting for ${what}`));
        this.waiters.push(check);
      };
      check();
    }), ms, what);
  }

  reply(msgId: string, ms = 3000): Promise<AdminMessage> {
    return this.next((m) => m.tokens[1] === 'response' && m.tokens[2] === msgId, ms, `the reply to ${msgId}`);
  }

  /** A server→app `sip` message; `after` skips messages already seen. */
  sip(match: (m: AdminMessage) => boolean = () => true, ms = 3000, after = 0): Promise<AdminMessage> {
    return this.next((m) => m.tokens[1] === 'sip' && match(m), ms, 'a sip message', after);
  }

  waitClosed(ms = 3000): Promise<void> {
    return withTimeout(new Promise<void>((resolve) => {
      const check = () => (this.closed ? resolve() : this.waiters.push(check));
      check();
    }), ms, 'the admin connection to close');
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

export interface Datagram {
  text: string;
  address: string;
  port: number;
}

/** A raw UDP SIP endpoint. */
export class UdpPeer {
  readonly received: Datagram[] = [];
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: dgram.Socket) {
    socket.on('message', (data, rinfo) => {
      this.received.push({ text: data.toString('utf8'), address: rinfo.address, port: rinfo.port });
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    });
  }

  static open(port = 0): Promise<UdpPeer> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', reject);
      socket.bind(port, '127.0.0.1', () => resolve(new UdpPeer(socket)));
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(text: string, port: number): void {
    this.socket.send(Buffer.from(text, 'utf8'), port, '127.0.0.1');
  }

  next(match: (d: Datagram) => boolean = () => true, ms = 3000, from = 0): Promise<Datagram> {
    return withTimeout(new Promise<Datagram>((resolve) => {
      const check = () => {
        const found = this.received.slice(from).find(match);
        if (found) resolve(found);
        else this.waiters.push(check);
      };
      check();
    }), ms, 'a datagram');
  }

  close(): void {
    this.socket.close();
  }
}

/** A raw TCP SIP client connection that collects everything it receives. */
export class TcpPeer {
  text = '';
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (data: Buffer) => {
      this.text += data.toString('utf8');
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<TcpPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new TcpPeer(socket)));
      socket.once('error', reject);
    });
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  send(text: string): void {
    this.socket.write(text);
  }

  until(match: (text: string) => boolean, ms = 3000): Promise<string> {
    return withTimeout(new Promise<string>((resolve) => {
      const check = () => (match(this.text) ? resolve(this.text) : this.waiters.push(check));
      check();
    }), ms, 'tcp data');
  }

  close(): void {
    this.socket.destroy();
  }
}

/** CRLF-joined SIP text from readable lines (a final empty line is added for the header/body separator). */
export function sip(lines: string[], body = ''): string {
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** Header value from a SIP text (first occurrence, case-insensitive). */
export function header(text: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(text.split('\r\n\r\n')[0]);
  return m ? m[1].trim() : undefined;
}

/** Header names in order, from a SIP text. */
export function headerNames(text: string): string[] {
  return text.split('\r\n\r\n')[0].split('\r\n').slice(1).map((l) => l.slice(0, l.indexOf(':')));
}

/** Finds a free port number usable for both UDP and TCP (for tools like sipp that need an explicit port). */
export async function freePort(): Promise<number> {
  for (;;) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}
