/**
 * A stand-in for drachtio-server: speaks the admin wire protocol to apps (drachtio-srf) on one side and
 * real SIP over UDP/TCP/WebSocket on the other, reproducing the real server's observable behaviour as
 * documented in shared/docs/drachtio-wire-protocol.md.
 *
 * Files by role: framing (N#payload), admin-connection (commands per app), routes (verb → apps),
 * sip-transports (UDP/TCP/WS), sip-message / sip-values / sip-headers / header-set (SIP text),
 * inbound-request (nta checks, Via stamping), server-transactions (UAS), client-transactions (UAC),
 * response-builder / request-builder / app-headers (what sofia puts on the wire), connection-cache.
 *
 * Out of scope (the app under test only does REGISTER/OPTIONS): dialogs (in-dialog requests from an app
 * always meet the server's "dialog not found" answer; in-dialog requests from the network other than the ACK
 * of a 2xx are treated as out-of-dialog), `proxy`, TLS/WSS, CDRs, spammer lists, outbound-proxy config.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { AdminConnection, AdminHost } from './admin-connection';
import { ClientTransactions } from './client-transactions';
import { ConnectionCache } from './connection-cache';
import { StandInContext, TimerSettings } from './context';
import { RouteTable } from './routes';
import { ServerTransactions } from './server-transactions';
import {
  SipMessage, SipParseError, parseSipMessage, parseStartLine, splitAppMessage,
} from './sip-message';
import { InboundMessage, Listener, SipProto, SipTransports } from './sip-transports';

export interface StandInOptions {
  secret: string;
  /** Address of the admin and SIP listeners (default 127.0.0.1). */
  host?: string;
  /** Admin port (default 0 = ephemeral). */
  adminPort?: number;
  /** SIP port for both UDP and TCP (default 0 = ephemeral). */
  sipPort?: number;
  /** WebSocket SIP listener: false (default) for none, 0 for an ephemeral port. */
  wsPort?: number | false;
  /** Advertised instead of host in the hostports token and in contacts (localHostports keeps the bound address). */
  externalIp?: string;
  version?: string;
  /** Timer values in ms; defaults T1 500, T2 4000, Timer B/F 64·T1. */
  timers?: { t1?: number; t2?: number; timerB?: number };
  /** OPTIONS with exactly this User-Agent get an automatic 200 (user-agent-options-auto-respond). */
  optionsAutoRespondUserAgent?: string;
  log?: (line: string) => void;
}

export const DEFAULT_VERSION = 'v0.9.10-1-g9c2dd4cb6a';

/** Order in which the hostports token lists transports (the captures show tcp before udp). */
const HOSTPORT_ORDER: SipProto[] = ['tcp', 'udp', 'ws'];

export class DrachtioStandIn extends EventEmitter {
  private readonly opts: Required<Pick<StandInOptions, 'secret' | 'host' | 'adminPort' | 'sipPort' | 'wsPort' | 'version'>> & StandInOptions;
  private readonly timerSettings: TimerSettings;
  private readonly transports: SipTransports;
  private readonly routes = new RouteTable<AdminConnection>();
  private readonly apps = new Set<AdminConnection>();
  private readonly registeredConnections = new ConnectionCache();
  private readonly server: ServerTransactions;
  private readonly client: ClientTransactions;
  private adminServer?: net.Server;
  private started = false;

  constructor(options: StandInOptions) {
    super();
    this.opts = {
      host: '127.0.0.1', adminPort: 0, sipPort: 0, wsPort: false, version: DEFAULT_VERSION, ...options,
    };
    const t1 = options.timers?.t1 ?? 500;
    this.timerSettings = { t1, t2: options.timers?.t2 ?? 4000, timerB: options.timers?.timerB ?? 64 * t1 };
    this.transports = new SipTransports({
      host: this.opts.host, sipPort: this.opts.sipPort, wsPort: this.opts.wsPort, log: (line) => this.log(line),
    });
    const ctx = this.context();
    this.server = new ServerTransactions(ctx);
    this.client = new ClientTransactions(ctx);
    this.transports.on('message', (message: InboundMessage) => this.onSipMessage(message));
  }

  get adminPort(): number {
    return (this.adminServer?.address() as net.AddressInfo | null)?.port ?? 0;
  }

  get sipPort(): number {
    return this.transports.listener('udp')?.port ?? 0;
  }

  get wsPort(): number | undefined {
    return this.transports.listener('ws')?.port;
  }

  /** `tcp/127.0.0.1:5090,udp/127.0.0.1:5090[,ws/127.0.0.1:8080]`, with the external IP if configured. */
  get hostports(): string {
    return this.formatHostports(this.opts.externalIp);
  }

  get localHostports(): string {
    return this.formatHostports(undefined);
  }

  /** Authenticated admin connections that are still open. */
  connectedApps(): number {
    return [...this.apps].filter((a) => a.authenticated && a.isOpen()).length;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('stand-in already started');
    this.started = true;
    await this.transports.start();
    const server = net.createServer((socket) => this.acceptAdmin(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.adminPort, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.adminServer = server;
    this.log(`listening: admin ${this.opts.host}:${this.adminPort}, sip ${this.localHostports}`);
  }

  /** Closes every listener and connection; connected apps see their socket close. */
  async stop(): Promise<void> {
    this.server.close();
    this.client.close();
    this.registeredConnections.clear();
    for (const app of this.apps) app.close();
    const admin = this.adminServer;
    this.adminServer = undefined;
    await Promise.all([
      admin ? new Promise<void>((resolve) => admin.close(() => resolve())) : undefined,
      this.transports.stop(),
    ]);
  }

  // ----------------------------------------------------------------------------------------- admin

  private acceptAdmin(socket: net.Socket): void {
    const app = new AdminConnection(socket, this.adminHost());
    this.apps.add(app);
    app.on('authenticated', () => this.emit('app-connected', app));
    app.on('close', () => {
      this.apps.delete(app);
      if (app.authenticated) this.emit('app-disconnected', app);
    });
  }

  private adminHost(): AdminHost {
    return {
      secret: this.opts.secret,
      authenticateTokens: () => [this.hostports, this.opts.version, this.localHostports],
      addRoute: (verb, conn) => this.routes.add(verb, conn),
      removeRoutes: (conn) => this.routes.removeClient(conn),
      handleSip: (conn, msgId, tokens, sip) => this.handleAppSip(conn, msgId, tokens, sip),
      log: (line) => this.log(line),
    };
  }

  /** `sip|<txnId>|<dialogId>[|<proxy>]`: a response, a CANCEL, an in-dialog request or a new request. */
  private handleAppSip(app: AdminConnection, msgId: string, tokens: string[], sip: string): void {
    const [txnId = '', dialogId = '', proxy] = tokens;
    const first = parseStartLine(splitAppMessage(sip).startLine);
    if (first?.kind === 'response') return this.server.respond(app, msgId, txnId, sip);
    const method = first?.kind === 'request' ? first.method : '';
    if (txnId) {
      if (method === 'CANCEL') return this.client.cancel(app, msgId, txnId);
      // A request other than CANCEL on an existing transaction (e.g. PRACK) is beyond the stand-in.
      return app.write(app.reply(msgId, ['NOK', 'Response not sent due to unknown transaction']));
    }
    if (dialogId) {
      // The stand-in keeps no dialogs, so every in-dialog request meets the server's "dialog not found" path.
      const reason = method === 'ACK'
        ? 'ACK for non-success final response is automatically generated by server'
        : 'unable to find dialog for dialog id provided';
      return app.write(app.reply(msgId, ['NOK', `Server error: ${reason}`]));
    }
    this.client.send(app, msgId, sip, proxy || undefined);
  }

  // ------------------------------------------------------------------------------------------- SIP

  private onSipMessage(message: InboundMessage): void {
    const source = `${message.remoteAddress}:${message.remotePort}`;
    const parsed = this.parse(message, source);
    if (!parsed) return;
    this.traceIn(message.data, message.proto, source);
    if (parsed.isRequest) this.server.handleRequest(parsed, message);
    else this.client.handleResponse(parsed, message);
  }

  /** sofia discards what it cannot recognise as a SIP message (agent_recv_garbage); so does the stand-in. */
  private parse(message: InboundMessage, source: string): SipMessage | undefined {
    try {
      return parseSipMessage(message.data);
    } catch (err) {
      if (!(err instanceof SipParseError)) throw err;
      if (message.data.toString('latin1').trim()) this.log(`discarding garbage from ${message.proto} ${source}: ${err.message}`);
      return undefined;
    }
  }

  private context(): StandInContext {
    return {
      transports: this.transports,
      timers: this.timerSettings,
      registeredConnections: this.registeredConnections,
      optionsAutoRespondUserAgent: this.opts.optionsAutoRespondUserAgent,
      externalIp: this.opts.externalIp,
      selectApp: (method) => this.routes.select(method),
      log: (line) => this.log(line),
      traceIn: (data, proto, source) => this.traceIn(data, proto, source),
      traceOut: (data, proto, destination) => {
        if (!this.tracing('sip-out')) return;
        this.log(`sip ${proto} ==> ${destination}\n${data.toString('utf8')}`);
        this.emit('sip-out', data.toString('utf8'), proto, destination);
      },
    };
  }

  /** Decoding every message for a trace nobody reads cost the stand-in most of its time under load. */
  private tracing(event: 'sip-in' | 'sip-out'): boolean {
    return this.opts.log !== undefined || this.listenerCount(event) > 0;
  }

  private traceIn(data: Buffer, proto: SipProto, source: string): void {
    if (!this.tracing('sip-in')) return;
    this.log(`sip ${proto} <== ${source}\n${data.toString('utf8')}`);
    this.emit('sip-in', data.toString('utf8'), proto, source);
  }

  private formatHostports(externalIp: string | undefined): string {
    const listeners = HOSTPORT_ORDER.map((p) => this.transports.listener(p)).filter((l): l is Listener => !!l);
    return listeners.map((l) => `${l.proto}/${externalIp ?? l.address}:${l.port}`).join(',');
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }
}

export type { SipProto } from './sip-transports';
