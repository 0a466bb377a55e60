/**
 * The UAS side: requests from the network, their delivery to an app, and the app's responses.
 *
 * Lifecycle of a transaction (drachtio's pending-request-controller + sofia's nta_incoming):
 *   pending     delivered to an app, no response yet; retransmissions are silently discarded; after
 *               CLIENT_TIMEOUT_MS without a response the state is dropped and nothing is sent
 *   proceeding  a provisional was sent; retransmissions get it again
 *   completed   a final was sent; retransmissions get it again until Timer J (non-INVITE over UDP; TCP keeps
 *               nothing) or Timer H (INVITE, which also retransmits its final over UDP until the ACK)
 */
import { AdminConnection } from './admin-connection';
import {
  StandInContext, TimerRegistry, localTransportOf, reportedProto, sendBack,
} from './context';
import { newTag, newUuid, timeToken } from './ids';
import {
  ReceivedRequest, Verdict, checkRegister, checkWithNta, receiveRequest, topBranch,
} from './inbound-request';
import { contactOf, hostportOf } from './request-builder';
import { buildAppResponse, buildStatelessResponse } from './response-builder';
import { SipMessage, parseSipMessage, parseStartLine, splitAppMessage } from './sip-message';
import { InboundMessage } from './sip-transports';
import {
  getParam, parseNameAddr, parseSipUri, splitTopLevel, tagOf,
} from './sip-values';

/** drachtio's CLIENT_TIMEOUT: how long an app has to answer a request it was given. */
export const CLIENT_TIMEOUT_MS = 64_000;

/** Methods drachtio routes to an app when they arrive outside a dialog. */
const ROUTED_METHODS = new Set(['INVITE', 'REGISTER', 'MESSAGE', 'OPTIONS', 'INFO', 'NOTIFY', 'SUBSCRIBE', 'PUBLISH']);

type UasState = 'pending' | 'proceeding' | 'completed' | 'cancelled';

interface UasTransaction {
  id: string;
  key: string;
  method: string;
  received: ReceivedRequest;
  source: InboundMessage;
  /** The app the request was delivered to (it also gets the CANCEL and the ACK). */
  app: AdminConnection;
  state: UasState;
  toTag: string;
  dialogId: string;
  lastResponse?: Buffer;
  finalStatus?: number;
  retransmitTimer?: NodeJS.Timeout;
  expiryTimer?: NodeJS.Timeout;
}

function transactionKey(msg: SipMessage, method: string): string {
  return `${msg.callId}|${msg.cseq?.seq}|${method}|${topBranch(msg)}`;
}

export class ServerTransactions {
  private readonly byId = new Map<string, UasTransaction>();
  private readonly byKey = new Map<string, UasTransaction>();
  /**
   * Completed non-INVITE transactions over UDP during timer J: only their final response is kept (to answer
   * retransmissions), not the parsed request. Under load (thousands of REGISTERs a second, each held 32 s)
   * whole transactions here grew the stand-in past a gigabyte and slowed it to a crawl.
   */
  private readonly completedResponses = new Map<string, Buffer>();
  private readonly timers = new TimerRegistry();

  constructor(private readonly ctx: StandInContext) {}

  close(): void {
    this.timers.cancelAll();
    this.byId.clear();
    this.byKey.clear();
    this.completedResponses.clear();
  }

  // ------------------------------------------------------------------------------ from the network

  handleRequest(msg: SipMessage, source: InboundMessage): void {
    const nta = checkWithNta(msg, source.proto);
    if (nta.action === 'drop') return this.drop(msg, source, nta.shutdown);
    const received = receiveRequest(msg, source.remoteAddress, source.remotePort);
    if (nta.action === 'reply') return this.replyStateless(received, source, nta.status, nta.reason);
    const method = msg.method ?? '';
    if (method === 'ACK') return this.onAck(received, source);
    if (method === 'CANCEL') return this.onCancel(received, source);
    const key = transactionKey(msg, method);
    const existing = this.byKey.get(key);
    if (existing) return this.onRetransmission(existing, source);
    const completed = this.completedResponses.get(key);
    if (completed) {
      sendBack(this.ctx, source, completed);
      return;
    }
    this.onNewRequest(received, source, method);
  }

  private onNewRequest(received: ReceivedRequest, source: InboundMessage, method: string): void {
    const register: Verdict = method === 'REGISTER' ? checkRegister(received.msg) : { action: 'accept' };
    if (register.action === 'reply') return this.replyStateless(received, source, register.status, register.reason);
    if (method === 'BYE' || method === 'UPDATE') return this.replyStateless(received, source, 481, 'Call/Transaction Does Not Exist');
    if (!ROUTED_METHODS.has(method)) return this.ctx.log(`discarding ${method} outside a dialog`);
    if (method === 'INVITE') this.replyStateless(received, source, 100, 'Trying');
    const autoUa = this.ctx.optionsAutoRespondUserAgent;
    if (method === 'OPTIONS' && autoUa !== undefined && received.msg.get('user-agent') === autoUa) {
      return this.replyStateless(received, source, 200, 'OK');
    }
    const app = this.ctx.selectApp(method);
    if (!app) return this.replyStateless(received, source, 503, 'Service Unavailable');
    this.deliver(this.createTransaction(received, source, method, app));
  }

  private createTransaction(received: ReceivedRequest, source: InboundMessage, method: string, app: AdminConnection): UasTransaction {
    const msg = received.msg;
    const txn: UasTransaction = {
      id: newUuid(),
      key: transactionKey(msg, method),
      method,
      received,
      source,
      app,
      state: 'pending',
      toTag: newTag(),
      dialogId: method === 'INVITE' ? `${msg.callId};from-tag=${tagOf(msg.get('from')) ?? ''}` : '',
    };
    this.byId.set(txn.id, txn);
    this.byKey.set(txn.key, txn);
    txn.expiryTimer = this.timers.after(CLIENT_TIMEOUT_MS, () => {
      if (txn.state === 'pending') this.forget(txn);
    });
    return txn;
  }

  private deliver(txn: UasTransaction): void {
    const { source, app } = txn;
    const meta = [
      'sip', 'network', String(txn.received.msg.size), reportedProto(source.proto), source.remoteAddress,
      String(source.remotePort), timeToken(), txn.id, '', source.listener.address, String(source.listener.port), '',
    ];
    app.write(app.message(meta, txn.received.text));
  }

  private onRetransmission(txn: UasTransaction, source: InboundMessage): void {
    if (txn.lastResponse && txn.state !== 'cancelled') sendBack(this.ctx, source, txn.lastResponse);
    else this.ctx.log(`discarding retransmission of ${txn.method} ${txn.id}`);
  }

  /** ACK for a non-2xx final is absorbed; ACK for a 2xx goes to the app with the INVITE's ids. */
  private onAck(received: ReceivedRequest, source: InboundMessage): void {
    const msg = received.msg;
    const sameBranch = this.byKey.get(transactionKey(msg, 'INVITE'));
    if (sameBranch) return this.stopRetransmitting(sameBranch);
    const answered = [...this.byId.values()].find((t) => t.method === 'INVITE' && t.received.msg.callId === msg.callId
      && t.received.msg.cseq?.seq === msg.cseq?.seq && t.finalStatus !== undefined && t.finalStatus < 300 && t.toTag === tagOf(msg.get('to')));
    if (!answered) return this.ctx.log('discarding ACK that matches no transaction');
    this.stopRetransmitting(answered);
    const { app } = answered;
    const meta = ['sip', 'network', String(msg.size), '', source.remoteAddress, String(source.remotePort), timeToken(), answered.id, answered.dialogId, ''];
    app.write(app.message(meta, received.text));
  }

  /** §10: 200 to the CANCEL and 487 to the INVITE come from the server; the app is only told. */
  private onCancel(received: ReceivedRequest, source: InboundMessage): void {
    const msg = received.msg;
    const invite = this.byKey.get(transactionKey(msg, 'INVITE'))
      ?? [...this.byId.values()].find((t) => t.method === 'INVITE' && t.state === 'pending' && t.received.msg.callId === msg.callId);
    if (!invite) return this.replyStateless(received, source, 481, 'Call/Transaction Does Not Exist');
    if (invite.state === 'completed' || invite.state === 'cancelled') return this.replyStateless(received, source, 200, 'OK', invite.toTag);
    const quick = invite.state === 'pending';
    const size = quick ? msg.size : invite.received.msg.size;
    const meta = ['sip', 'network', String(size), reportedProto(source.proto), source.remoteAddress, String(source.remotePort),
      timeToken(), invite.id, quick ? '' : invite.dialogId, ''];
    invite.app.write(invite.app.message(meta, received.text));
    this.replyStateless(received, source, 200, 'OK', quick ? undefined : invite.toTag);
    const terminated = buildStatelessResponse(invite.received, 487, 'Request Terminated', quick ? newTag() : invite.toTag);
    sendBack(this.ctx, invite.source, terminated);
    if (quick) {
      invite.state = 'cancelled';
      this.byId.delete(invite.id);
      this.expireLater(invite);
    } else {
      this.complete(invite, terminated, 487);
    }
  }

  /** A request nta cannot answer is destroyed; over a stream sofia also shuts the connection down (FIN). */
  private drop(msg: SipMessage, source: InboundMessage, shutdown: boolean): void {
    this.ctx.log(`dropping request: ${msg.startLine}`);
    if (shutdown && source.connection) source.connection.shutdown();
  }

  private replyStateless(received: ReceivedRequest, source: InboundMessage, status: number, reason: string, tag?: string): void {
    sendBack(this.ctx, source, buildStatelessResponse(received, status, reason, tag ?? newTag()));
  }

  // ---------------------------------------------------------------------------------- from an app

  /** `sip|<txnId>|<dialogId>` carrying a response. */
  respond(app: AdminConnection, msgId: string, txnId: string, sip: string): void {
    const txn = this.byId.get(txnId);
    if (!txn || txn.state === 'completed' || txn.state === 'cancelled') {
      return app.write(app.reply(msgId, ['NOK', 'Response not sent due to unknown transaction']));
    }
    const { startLine, headerBlock, body } = splitAppMessage(sip);
    const status = parseStartLine(startLine);
    if (!status || status.kind !== 'response' || status.status < 100 || status.status > 699) {
      return app.write(app.reply(msgId, ['NOK', 'Unknown server error sending response']));
    }
    const local = localTransportOf(txn.source.listener, this.ctx);
    const built = buildAppResponse({
      request: txn.received, status: status.status, reason: status.reason, headerBlock, body,
      hostport: hostportOf(local), contact: contactOf(local), toTag: txn.toTag, log: this.ctx.log,
    });
    if ('unparseable' in built) return this.refuseAppResponse(app, msgId, txn, status.status, built.unparseable);
    if (!sendBack(this.ctx, txn.source, built.data)) {
      this.forget(txn);
      return app.write(app.reply(msgId, ['NOK', 'transport for response has been shutdown or closed']));
    }
    if (built.toTag) txn.toTag = built.toTag;
    this.record(txn, built.data, status.status);
    this.cacheRegisteredConnection(txn, built.data, status.status);
    app.write(app.reply(msgId, this.sentMeta(txn, built.data), built.data.toString('utf8')));
  }

  /**
   * nta_incoming_treply failed on a header sofia cannot parse: the app gets NOK, and for a final response
   * sofia answers the request itself with `500 Internal Server Error` built from the request's own headers
   * (incoming_final_failed, then the incoming timer's treply). The transaction is over for the app.
   */
  private refuseAppResponse(app: AdminConnection, msgId: string, txn: UasTransaction, status: number, header: string): void {
    this.ctx.log(`Error -1 sending response on irq - this is usually because the application provided a syntactically-invalid header (${header})`);
    app.write(app.reply(msgId, ['NOK', 'Unknown server error sending response']));
    if (status < 200) return;
    const failed = buildStatelessResponse(txn.received, 500, 'Internal Server Error', txn.toTag);
    if (!sendBack(this.ctx, txn.source, failed)) return this.forget(txn);
    this.complete(txn, failed, 500);
  }

  /** `OK|application|<bytes>|<proto>|<addr>|<port>|<time>|<txn>|<dialogId>||Msg sent:|` (proto only for INVITE). */
  private sentMeta(txn: UasTransaction, data: Buffer): string[] {
    const proto = txn.method === 'INVITE' ? reportedProto(txn.source.proto) : '';
    return ['OK', 'application', String(data.length), proto, txn.source.remoteAddress, String(txn.source.remotePort),
      timeToken(), txn.id, txn.dialogId, '', 'Msg sent:', ''];
  }

  private record(txn: UasTransaction, data: Buffer, status: number): void {
    txn.lastResponse = data;
    if (status < 200) {
      if (txn.state === 'pending') this.timers.cancel(txn.expiryTimer);
      txn.state = 'proceeding';
      return;
    }
    this.complete(txn, data, status);
  }

  private complete(txn: UasTransaction, data: Buffer, status: number): void {
    txn.state = 'completed';
    txn.lastResponse = data;
    txn.finalStatus = status;
    this.timers.cancel(txn.expiryTimer);
    const udp = txn.source.proto === 'udp';
    if (txn.method === 'INVITE') {
      if (udp) this.retransmitFinal(txn, this.ctx.timers.t1);
      this.expireLater(txn);
    } else if (udp) {
      this.forget(txn);
      this.rememberCompleted(txn.key, data);
    } else {
      this.forget(txn);
    }
  }

  /**
   * A 200 to a REGISTER (2xx to a SUBSCRIBE) over a stream remembers the connection under the request Contact's
   * user@host, for the response's expiry (Contact ;expires for REGISTER, else Expires); expiry 0 forgets it.
   */
  private cacheRegisteredConnection(txn: UasTransaction, response: Buffer, status: number): void {
    const registered = txn.method === 'REGISTER' && status === 200;
    const subscribed = txn.method === 'SUBSCRIBE' && (status === 200 || status === 202);
    const connection = txn.source.connection;
    const contact = parseNameAddr(splitTopLevel(txn.received.msg.get('contact') ?? '', ',')[0]);
    const uri = contact && parseSipUri(contact.uri);
    if (!(registered || subscribed) || !connection || !uri) return;
    const sent = parseSipMessage(response);
    const responseContact = registered ? parseNameAddr(splitTopLevel(sent.get('contact') ?? '', ',')[0]) : undefined;
    const expires = Number((responseContact && getParam(responseContact.params, 'expires')) ?? sent.get('expires') ?? 0) || 0;
    if (expires > 0) this.ctx.registeredConnections.remember(uri.user, uri.host, connection, expires);
    else this.ctx.registeredConnections.forget(uri.user, uri.host);
  }

  /** Timer G: resend the final response at T1, 2·T1, ... capped at T2, until the ACK. */
  private retransmitFinal(txn: UasTransaction, interval: number): void {
    txn.retransmitTimer = this.timers.after(interval, () => {
      if (!txn.lastResponse) return;
      sendBack(this.ctx, txn.source, txn.lastResponse);
      this.retransmitFinal(txn, Math.min(interval * 2, this.ctx.timers.t2));
    });
  }

  private stopRetransmitting(txn: UasTransaction): void {
    this.timers.cancel(txn.retransmitTimer);
    txn.retransmitTimer = undefined;
  }

  /** Timer J: 64·T1. */
  private rememberCompleted(key: string, response: Buffer): void {
    this.completedResponses.set(key, response);
    this.timers.after(64 * this.ctx.timers.t1, () => {
      if (this.completedResponses.get(key) === response) this.completedResponses.delete(key);
    });
  }

  /** Timer H (and J before a transaction is slimmed): 64·T1. */
  private expireLater(txn: UasTransaction): void {
    this.timers.cancel(txn.expiryTimer);
    txn.expiryTimer = this.timers.after(64 * this.ctx.timers.t1, () => this.forget(txn));
  }

  private forget(txn: UasTransaction): void {
    this.stopRetransmitting(txn);
    this.timers.cancel(txn.expiryTimer);
    if (this.byId.get(txn.id) === txn) this.byId.delete(txn.id);
    if (this.byKey.get(txn.key) === txn) this.byKey.delete(txn.key);
  }
}
