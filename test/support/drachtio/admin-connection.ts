/**
 * One app connection on the admin port: frames, the `authenticate`/`route`/`remove_route`/`ping` commands,
 * and hand-off of `sip` commands to the transaction layers.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { FrameDecoder, FramingError, encodeFrame } from './framing';
import { newUuid } from './ids';
import { CRLF } from './sip-message';

/** What an admin connection needs from the rest of the stand-in. */
export interface AdminHost {
  readonly secret: string;
  /** Tokens after `OK` in the authenticate reply: hostports, version, localHostports. */
  authenticateTokens(): string[];
  addRoute(verb: string, conn: AdminConnection): void;
  removeRoutes(conn: AdminConnection): void;
  /** A `sip` command: tokens of the header line (after the msg id) and the SIP text after the first CRLF. */
  handleSip(conn: AdminConnection, msgId: string, tokens: string[], sip: string): void;
  log(line: string): void;
}

let nextId = 1;

export class AdminConnection extends EventEmitter {
  readonly id = nextId++;
  authenticated = false;
  tags: string[] = [];
  private readonly decoder = new FrameDecoder();

  constructor(private readonly socket: net.Socket, private readonly host: AdminHost) {
    super();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => host.log(`admin #${this.id} socket error: ${err.message}`));
    socket.on('close', () => this.emit('close'));
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? '';
  }

  isOpen(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  close(): void {
    this.socket.destroy();
  }

  /** A server-originated message (fresh msg id): `<uuid>|<tokens...>[\r\n<sip>]`. */
  message(tokens: string[], sip?: string): string {
    return withSip(`${newUuid()}|${tokens.join('|')}`, sip);
  }

  /** A reply to an app message: `<uuid>|response|<appMsgId>|<tokens...>[\r\n<sip>]`. */
  reply(appMsgId: string, tokens: string[], sip?: string): string {
    return this.message(['response', appMsgId, ...tokens], sip);
  }

  /** Writes payloads in a single socket write, so they reach the app in one TCP chunk. */
  write(...payloads: string[]): void {
    if (!this.isOpen() || payloads.length === 0) return;
    const data = payloads.map(encodeFrame).join('');
    this.host.log(`admin #${this.id} <== ${data}`);
    this.socket.write(data);
  }

  private onData(chunk: Buffer): void {
    let payloads: string[];
    try {
      payloads = this.decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof FramingError)) throw err;
      // drachtio-server logs "invalid message length specifier" and drops the connection.
      this.host.log(`admin #${this.id} ${err.message}; closing`);
      this.socket.destroy();
      return;
    }
    for (const payload of payloads) {
      if (!this.isOpen()) return;
      this.host.log(`admin #${this.id} ==> ${payload}`);
      this.dispatch(payload);
    }
  }

  private dispatch(payload: string): void {
    const nl = payload.indexOf(CRLF);
    const header = nl < 0 ? payload : payload.slice(0, nl);
    const sip = nl < 0 ? '' : payload.slice(nl + CRLF.length);
    const [msgId = '', type = '', ...args] = header.split('|');
    switch (type) {
      case 'authenticate':
        return this.authenticate(msgId, args);
      case 'route':
        this.host.addRoute((args[0] ?? '').toLowerCase(), this);
        return this.write(this.reply(msgId, ['OK']));
      case 'remove_route':
        this.host.removeRoutes(this);
        return this.write(this.reply(msgId, ['OK']));
      case 'ping':
        return this.write(this.reply(msgId, ['OK', 'pong']));
      case 'sip':
        return this.host.handleSip(this, msgId, args, sip);
      default:
        // The real server has no reply for commands it does not know (and `proxy` is out of scope here);
        // the stand-in answers NOK so a test that sends one fails visibly instead of hanging.
        return this.write(this.reply(msgId, ['NOK', `unsupported message type: ${type}`]));
    }
  }

  /**
   * The real server does not require authentication before other commands; the stand-in is equally
   * lenient. A missing secret token is undefined behaviour in the server; the stand-in answers NO.
   */
  private authenticate(msgId: string, args: string[]): void {
    const [secret, tags] = args;
    if (secret === undefined || secret !== this.host.secret) {
      this.write(this.reply(msgId, ['NO', 'incorrect secret']));
      this.socket.end();
      return;
    }
    this.tags = tags ? tags.split(',') : [];
    const wasAuthenticated = this.authenticated;
    this.authenticated = true;
    this.write(this.reply(msgId, ['OK', ...this.host.authenticateTokens()]));
    if (!wasAuthenticated) this.emit('authenticated');
  }
}

function withSip(header: string, sip: string | undefined): string {
  return sip === undefined ? header : `${header}${CRLF}${sip}`;
}
