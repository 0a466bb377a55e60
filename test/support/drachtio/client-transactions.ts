/**
 * The UAC side: requests an app originates (`sip||[|proxy]`), CANCELs of them, and their responses.
 *
 * The `Msg sent` reply is normally written as soon as the request is on its way. Two cases reproduce the real
 * server's timing on purpose (protocol notes §8.1): when the destination refuses the request at once (ICMP port
 * unreachable over UDP, connection refused over TCP), the reply and the internal `503` are written in ONE socket
 * write. To know whether the kernel will report ICMP, the reply for a UDP request waits up to
 * ICMP_GRACE_MS unless a response arrives first.
 */
import dns from 'node:dns';
import net from 'node:net';
import { AdminConnection } from './admin-connection';
import { AppHeaders, findKnown, parseAppHeaders } from './app-headers';
import { CACHE_USING_METHODS } from './connection-cache';
import { StandInContext, TimerRegistry, reportedProto } from './context';
import { newBranch, newUuid, timeToken } from './ids';
import { topBranch } from './inbound-request';
import {
  LocalTransport, UacRequest, buildAckForFailure, buildCancel, buildInternalResponse, buildUacRequest, encodeForWire,
  encodeUnprepared, hostportOf,
} from './request-builder';
import { SipMessage, encodeAsReceived, parseStartLine, splitAppMessage } from './sip-message';
import { InboundMessage, Listener, SipProto, StreamConnection } from './sip-transports';
import { SipUri, getParam, parseSipUri } from './sip-values';

/** How long a UDP request's `Msg sent` reply waits for a possible ICMP port unreachable. */
export const ICMP_GRACE_MS = 20;
/** How long the reply for a request needing a new TCP/WS connection waits for the connect outcome. */
export const CONNECT_WAIT_MS = 250;
/** RFC 3261 T4, Timer K for non-INVITE client transactions over UDP. */
const T4_MS = 5000;
/** sofia's Timer C: an INVITE that got a provisional but no final response gives up after this (408). */
const TIMER_C_MS = 185_000;
/** Delay between a released `Msg sent` reply and a response that arrived during the grace period. */
const RESPONSE_AFTER_REPLY_MS = 2;

/** Methods sofia knows (sip_method_t); anything else is an invalid start line for a new request. */
const KNOWN_METHODS = new Set([
  'INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'REGISTER', 'INFO', 'PRACK', 'UPDATE', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'PUBLISH',
]);

type UacState = 'calling' | 'proceeding' | 'completed';

interface Destination {
  address: string;
  port: number;
}

interface UacTransaction {
  id: string;
  app: AdminConnection;
  method: string;
  request: UacRequest;
  wire: Buffer;
  branch: string;
  transport: LocalTransport;
  destination?: Destination;
  connection?: StreamConnection;
  state: UacState;
  dialogId: string;
  /** The `Msg sent` reply while it is held back; undefined once written. */
  pendingReply?: string;
  /** Messages for the app queued just after the reply was released (keeps them in order). */
  deferred?: string[];
  /** A CANCEL's own transaction: its responses are never reported (sofia does not pass them up). */
  silent: boolean;
  retransmitTimer?: NodeJS.Timeout;
  timeoutTimer?: NodeJS.Timeout;
  graceTimer?: NodeJS.Timeout;
}

type Route = { connection: StreamConnection } | { nextHop: SipUri };

interface Plan {
  method: string;
  requestUri: string;
  headers: AppHeaders;
  body: string;
  transport: LocalTransport;
  route: Route;
}

/** The destination refused the request (connection refused, or the connection is gone). */
class Refusal extends Error {}

export class ClientTransactions {
  private readonly byId = new Map<string, UacTransaction>();
  private readonly byKey = new Map<string, UacTransaction>();
  private readonly timers = new TimerRegistry();

  constructor(private readonly ctx: StandInContext) {
    ctx.transports.on('unreachable', (_proto: SipProto, address: string, port: number) => this.onUnreachable(address, port));
    ctx.transports.on('connection-closed', (connection: StreamConnection) => this.onConnectionClosed(connection));
  }

  close(): void {
    this.timers.cancelAll();
    this.byId.clear();
    this.byKey.clear();
  }

  // --------------------------------------------------------------------------------- new requests

  /** `sip||[|<proxy>]` + request. */
  send(app: AdminConnection, msgId: string, sip: string, proxy: string | undefined): void {
    const plan = this.plan(sip, proxy);
    if (typeof plan === 'string') return app.write(app.reply(msgId, ['NOK', plan]));
    const branch = newBranch();
    const request = buildUacRequest({
      method: plan.method, requestUri: plan.requestUri, headers: plan.headers, body: plan.body, transport: plan.transport, branch,
    });
    const txn = this.createTransaction(app, plan.method, request, plan.transport, branch, false);
    this.dispatch(txn, msgId, plan.route);
  }

  /** doSendRequestOutsideDialog's checks, in its order; a string is the NOK reason. */
  private plan(sip: string, proxy: string | undefined): Plan | string {
    const { startLine, headerBlock, body } = splitAppMessage(sip);
    const line = parseStartLine(startLine);
    const uri = line?.kind === 'request' ? parseSipUri(line.uri) : undefined;
    if (line?.kind !== 'request' || !KNOWN_METHODS.has(line.method) || !uri) return `invalid request-uri: ${startLine}`;
    const cached = CACHE_USING_METHODS.has(line.method) ? this.ctx.registeredConnections.find(uri.user, uri.host) : undefined;
    const nextHop = proxy ? parseSipUri(proxy) : uri;
    const transport = cached ? this.transportOf(cached) : nextHop && this.chooseTransport(nextHop);
    if (!nextHop || !transport) return 'requested protocol/transport not available';
    const headers = parseAppHeaders(headerBlock, hostportOf(transport), this.ctx.log);
    if (body && findKnown(headers, 'content_type') === undefined && !body.startsWith('v=0')) return 'missing content-type';
    if (this.isLocalUri(uri)) return 'can not send request to myself';
    const route: Route = cached ? { connection: cached } : { nextHop };
    return { method: line.method, requestUri: line.uri, headers, body, transport, route };
  }

  /** A cached client connection, an IP next hop, or a host name that needs DNS first. */
  private dispatch(txn: UacTransaction, msgId: string, route: Route): void {
    if ('connection' in route) {
      txn.connection = route.connection;
      void this.start(txn, msgId, { address: route.connection.remoteAddress, port: route.connection.remotePort });
      return;
    }
    const { nextHop } = route;
    const port = nextHop.port ?? (nextHop.scheme === 'sips' ? 5061 : 5060);
    const host = nextHop.host.replace(/^\[|\]$/g, '');
    if (net.isIP(host)) void this.start(txn, msgId, { address: host, port });
    else this.startAfterDns(txn, msgId, nextHop.host, port);
  }

  /** The local side of a cached connection: its listener, advertised with the external IP if any. */
  private transportOf(connection: StreamConnection): LocalTransport {
    const { listener } = connection;
    return { proto: listener.proto, host: this.ctx.externalIp ?? listener.address, port: listener.port };
  }

  /** `;transport=` of the next hop picks the listener; without it UDP (what every captured run used). */
  private chooseTransport(uri: SipUri): LocalTransport | undefined {
    const explicit = getParam(uri.params, 'transport')?.toLowerCase() ?? (uri.scheme === 'sips' ? 'tls' : undefined);
    const proto = explicit ?? 'udp';
    if (proto !== 'udp' && proto !== 'tcp' && proto !== 'ws') return undefined;
    const listener: Listener | undefined = this.ctx.transports.listener(proto);
    if (!listener) return undefined;
    return { proto, host: this.ctx.externalIp ?? listener.address, port: listener.port };
  }

  /** drachtio's isLocalSipUri: host:port (port 5060 when absent) equal to one of our listeners. */
  private isLocalUri(uri: SipUri): boolean {
    const candidate = `${uri.host.toLowerCase()}:${uri.port ?? 5060}`;
    return this.ctx.transports.sipListeners().some((l) => candidate === `${l.address}:${l.port}`
      || (l.address === '127.0.0.1' && candidate === `localhost:${l.port}`));
  }

  private createTransaction(app: AdminConnection, method: string, request: UacRequest, transport: LocalTransport, branch: string, silent: boolean): UacTransaction {
    const txn: UacTransaction = {
      id: newUuid(),
      app,
      method,
      request,
      wire: encodeForWire(request),
      branch,
      transport,
      state: 'calling',
      dialogId: method === 'INVITE' ? `${request.callId};from-tag=${request.fromTag}` : '',
      silent,
    };
    this.byId.set(txn.id, txn);
    this.byKey.set(`${branch}|${method}`, txn);
    return txn;
  }

  /** Host names go through DNS; sofia replies at once, before the message is prepared (no Via yet). */
  private startAfterDns(txn: UacTransaction, msgId: string, host: string, port: number): void {
    const echo = encodeUnprepared(txn.request);
    txn.app.write(txn.app.reply(msgId, ['OK', 'application', '0', 'unknown', '', '0', timeToken(), txn.id, 'Msg sent:', ''], echo.toString('utf8')));
    dns.lookup(host, { family: 4 }, (err, address) => {
      if (!this.byId.has(txn.id)) return;
      if (err) return this.failInternally(txn, 503, 'DNS Error', 'unknown');
      void this.start(txn, undefined, { address, port });
    });
  }

  /** Sends the request; `msgId` is set when the `Msg sent` reply is still owed. */
  private async start(txn: UacTransaction, msgId: string | undefined, destination: Destination): Promise<void> {
    txn.destination = destination;
    if (msgId !== undefined) txn.pendingReply = txn.app.reply(msgId, this.sentMeta(txn), txn.wire.toString('utf8'));
    try {
      if (txn.transport.proto === 'udp') await this.startUdp(txn);
      else await this.startStream(txn);
    } catch (err) {
      if (!(err instanceof Refusal)) this.ctx.log(`uac ${txn.id}: ${(err as Error).message}`);
      this.failInternally(txn, 503, 'Service Unavailable', reportedProto(txn.transport.proto));
      return;
    }
    this.armTimers(txn);
  }

  /** `OK|application|<bytes>|<proto>|<addr>|<port>|<time>|<txn>|Msg sent:|`: the local listener for UDP, the peer for streams. */
  private sentMeta(txn: UacTransaction): string[] {
    const udp = txn.transport.proto === 'udp';
    const address = udp ? this.ctx.transports.listener('udp')?.address ?? '' : txn.destination?.address ?? '';
    const port = udp ? txn.transport.port : txn.destination?.port ?? 0;
    return ['OK', 'application', String(txn.wire.length), reportedProto(txn.transport.proto), address, String(port), timeToken(), txn.id, 'Msg sent:', ''];
  }

  private async startUdp(txn: UacTransaction): Promise<void> {
    await this.transmit(txn);
    if (txn.pendingReply) txn.graceTimer = this.timers.after(ICMP_GRACE_MS, () => this.releaseReply(txn));
  }

  private async startStream(txn: UacTransaction): Promise<void> {
    const destination = txn.destination as Destination;
    const proto = txn.transport.proto === 'ws' ? 'ws' : 'tcp';
    const existing = txn.connection ?? this.ctx.transports.findConnection(proto, destination.address, destination.port);
    if (existing) {
      txn.connection = existing;
    } else {
      const connecting = this.ctx.transports.connect(proto, destination.address, destination.port);
      const slow = this.timers.after(CONNECT_WAIT_MS, () => this.releaseReply(txn));
      try {
        txn.connection = await connecting;
      } catch (err) {
        this.ctx.log(`uac ${txn.id}: connect to ${destination.address}:${destination.port} failed: ${(err as Error).message}`);
        throw new Refusal();
      } finally {
        this.timers.cancel(slow);
      }
    }
    await this.transmit(txn);
    this.releaseReply(txn);
  }

  private async transmit(txn: UacTransaction, data: Buffer = txn.wire): Promise<void> {
    const destination = txn.destination as Destination;
    this.ctx.traceOut(data, txn.transport.proto, `${destination.address}:${destination.port}`);
    if (txn.connection) {
      if (!txn.connection.isOpen()) throw new Refusal();
      txn.connection.send(data);
    } else {
      await this.ctx.transports.sendDatagramConnected(data, destination.address, destination.port);
    }
  }

  // ---------------------------------------------------------------------------------------- timers

  /** Timer E/A retransmissions (UDP only) and Timer F/B. */
  private armTimers(txn: UacTransaction): void {
    if (txn.state === 'completed' || !this.byId.has(txn.id)) return;
    if (txn.transport.proto === 'udp') this.scheduleRetransmit(txn, this.ctx.timers.t1);
    if (!txn.timeoutTimer) this.restartTimeout(txn, this.ctx.timers.timerB);
  }

  /** Timer B/F (and C for a proceeding INVITE): no final response in time → internal 408. */
  private restartTimeout(txn: UacTransaction, ms: number): void {
    this.timers.cancel(txn.timeoutTimer);
    txn.timeoutTimer = this.timers.after(ms, () => {
      if (txn.state !== 'completed') this.failInternally(txn, 408, 'Request Timeout', reportedProto(txn.transport.proto));
    });
  }

  /** RFC 3261 17.1.1.2 (INVITE: doubling until a provisional) and 17.1.2.2 (non-INVITE: capped at T2, T2 once proceeding). */
  private scheduleRetransmit(txn: UacTransaction, interval: number): void {
    txn.retransmitTimer = this.timers.after(interval, () => {
      if (txn.state === 'completed' || (txn.method === 'INVITE' && txn.state !== 'calling')) return;
      void this.transmit(txn).catch(() => undefined);
      const { t2 } = this.ctx.timers;
      const next = txn.method === 'INVITE' ? interval * 2 : txn.state === 'proceeding' ? t2 : Math.min(interval * 2, t2);
      this.scheduleRetransmit(txn, next);
    });
  }

  // ------------------------------------------------------------------------------------- responses

  handleResponse(msg: SipMessage, source: InboundMessage): void {
    const txn = this.byKey.get(`${topBranch(msg)}|${msg.cseq?.method}`);
    const status = msg.status ?? 0;
    if (!txn) return this.ctx.log(`discarding response ${status} that matches no client transaction`);
    if (status < 200) return this.onProvisional(txn, msg, source, status);
    if (txn.state === 'completed') {
      if (txn.method === 'INVITE' && status >= 300) void this.sendAck(txn, msg);
      return;
    }
    this.finish(txn);
    if (txn.method === 'INVITE' && status >= 300) void this.sendAck(txn, msg);
    if (!txn.silent) this.forward(txn, msg, source);
  }

  private onProvisional(txn: UacTransaction, msg: SipMessage, source: InboundMessage, status: number): void {
    if (txn.state === 'completed') return;
    if (txn.method === 'INVITE' && txn.state === 'calling') this.restartTimeout(txn, TIMER_C_MS);
    txn.state = 'proceeding';
    if (status > 100 && !txn.silent) this.forward(txn, msg, source);
    else this.releaseReply(txn);
  }

  /**
   * A response that arrives while the `Msg sent` reply is held releases the reply and follows a moment later:
   * written together, drachtio-srf would emit the response before a promise-based caller could listen for it,
   * which never happens with the real server (it replies before the request is even on the wire).
   */
  private forward(txn: UacTransaction, msg: SipMessage, source: InboundMessage): void {
    const meta = ['sip', 'network', String(msg.size), reportedProto(source.proto), source.remoteAddress, String(source.remotePort),
      timeToken(), txn.id, txn.dialogId, ''];
    const payload = txn.app.message(meta, encodeAsReceived(msg));
    if (!txn.pendingReply) return this.toApp(txn, payload);
    this.releaseReply(txn);
    txn.deferred = [payload];
    this.timers.after(RESPONSE_AFTER_REPLY_MS, () => {
      const queued = txn.deferred ?? [];
      txn.deferred = undefined;
      txn.app.write(...queued);
    });
  }

  private toApp(txn: UacTransaction, payload: string): void {
    if (txn.deferred) txn.deferred.push(payload);
    else txn.app.write(payload);
  }

  /** Final response: stop retransmitting, keep the transaction a while to absorb retransmitted finals. */
  private finish(txn: UacTransaction): void {
    txn.state = 'completed';
    this.timers.cancel(txn.retransmitTimer);
    this.timers.cancel(txn.timeoutTimer);
    const udp = txn.transport.proto === 'udp';
    const keep = !udp ? 0 : txn.method === 'INVITE' ? 64 * this.ctx.timers.t1 : T4_MS;
    this.timers.after(keep, () => this.forget(txn));
  }

  /** sofia ACKs non-2xx finals to an INVITE itself. */
  private async sendAck(txn: UacTransaction, response: SipMessage): Promise<void> {
    const ack = buildAckForFailure(txn.request, response.get('to') ?? '');
    await this.transmit(txn, ack).catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------- failures

  private onUnreachable(address: string, port: number): void {
    for (const txn of this.byId.values()) {
      const d = txn.destination;
      if (txn.transport.proto === 'udp' && d?.address === address && d.port === port && txn.state !== 'completed') {
        this.failInternally(txn, 503, 'Service Unavailable', 'udp');
      }
    }
  }

  private onConnectionClosed(connection: StreamConnection): void {
    for (const txn of this.byId.values()) {
      if (txn.connection === connection && txn.state !== 'completed') {
        this.failInternally(txn, 503, 'Service Unavailable', reportedProto(txn.transport.proto));
      }
    }
  }

  /** A final response sofia makes up itself: `sip|network|0|<proto>||0|...`. */
  private failInternally(txn: UacTransaction, status: number, reason: string, proto: string): void {
    if (txn.state === 'completed') return;
    this.finish(txn);
    if (txn.silent) return;
    const response = buildInternalResponse(txn.request, status, reason);
    const meta = ['sip', 'network', '0', proto, '', '0', timeToken(), txn.id, txn.dialogId, ''];
    const payload = txn.app.message(meta, response.toString('utf8'));
    if (txn.pendingReply) this.releaseReply(txn, payload);
    else this.toApp(txn, payload);
  }

  /** Writes the held `Msg sent` reply, together with `extra` in the same socket write. */
  private releaseReply(txn: UacTransaction, ...extra: string[]): void {
    this.timers.cancel(txn.graceTimer);
    const reply = txn.pendingReply;
    txn.pendingReply = undefined;
    const payloads = reply ? [reply, ...extra] : extra;
    if (payloads.length) txn.app.write(...payloads);
  }

  private forget(txn: UacTransaction): void {
    this.timers.cancel(txn.retransmitTimer);
    this.timers.cancel(txn.timeoutTimer);
    this.byId.delete(txn.id);
    if (this.byKey.get(`${txn.branch}|${txn.method}`) === txn) this.byKey.delete(`${txn.branch}|${txn.method}`);
  }

  // ----------------------------------------------------------------------------------------- CANCEL

  /** `sip|<INVITE transactionId>|` + CANCEL: sofia's nta_outgoing_tcancel (same branch as the INVITE). */
  cancel(app: AdminConnection, msgId: string, inviteId: string): void {
    const invite = this.byId.get(inviteId);
    if (!invite || invite.method !== 'INVITE' || invite.state === 'completed' || !invite.destination) {
      return app.write(app.reply(msgId, ['NOK', `unable to cancel unknown transaction id: ${inviteId}`]));
    }
    const request = buildCancel(invite.request);
    const txn = this.createTransaction(app, 'CANCEL', request, invite.transport, invite.branch, true);
    txn.destination = invite.destination;
    txn.connection = invite.connection;
    app.write(app.reply(msgId, this.sentMeta(txn), txn.wire.toString('utf8')));
    this.transmit(txn).then(() => this.armTimers(txn), () => this.finish(txn));
  }
}
