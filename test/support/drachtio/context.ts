/**
 * What the transaction layers share: transports, timer settings, app selection, tracing, and a timer
 * registry so that stop() can cancel everything that is still scheduled.
 */
import { AdminConnection } from './admin-connection';
import { ConnectionCache } from './connection-cache';
import { LocalTransport } from './request-builder';
import { InboundMessage, Listener, SipProto, SipTransports } from './sip-transports';

export interface TimerSettings {
  /** RFC 3261 T1 (ms). */
  t1: number;
  /** RFC 3261 T2 (ms). */
  t2: number;
  /** Timer B / Timer F (ms): how long a client transaction waits for a final response. */
  timerB: number;
}

export interface StandInContext {
  readonly transports: SipTransports;
  readonly timers: TimerSettings;
  /** Stream connections of registered clients, reused for requests to them. */
  readonly registeredConnections: ConnectionCache;
  readonly optionsAutoRespondUserAgent?: string;
  /** External IP advertised in contacts and hostports, if configured. */
  readonly externalIp?: string;
  selectApp(method: string): AdminConnection | undefined;
  log(line: string): void;
  traceIn(data: Buffer, proto: SipProto, source: string): void;
  traceOut(data: Buffer, proto: SipProto, destination: string): void;
}

/** drachtio reports ws/wss as `tcp` in the protocol token (tport_is_tcp is checked before anything else). */
export function reportedProto(proto: SipProto): string {
  return proto === 'udp' ? 'udp' : 'tcp';
}

/** The local transport a message was received on, with the advertised host. */
export function localTransportOf(listener: Listener, ctx: StandInContext): LocalTransport {
  return { proto: listener.proto, host: ctx.externalIp ?? listener.address, port: listener.port };
}

/** Sends a message back to where `source` came from: UDP to address:port, streams on the same connection. */
export function sendBack(ctx: StandInContext, source: InboundMessage, data: Buffer): boolean {
  const destination = `${source.remoteAddress}:${source.remotePort}`;
  if (source.connection) {
    if (!source.connection.isOpen()) return false;
    source.connection.send(data);
  } else {
    ctx.transports.sendDatagram(data, source.remoteAddress, source.remotePort);
  }
  ctx.traceOut(data, source.proto, destination);
  return true;
}

/** Timers that can all be cancelled at once. */
export class TimerRegistry {
  private readonly handles = new Set<NodeJS.Timeout>();

  after(ms: number, fn: () => void): NodeJS.Timeout {
    const handle = setTimeout(() => {
      this.handles.delete(handle);
      fn();
    }, ms);
    this.handles.add(handle);
    return handle;
  }

  cancel(handle: NodeJS.Timeout | undefined): void {
    if (!handle) return;
    clearTimeout(handle);
    this.handles.delete(handle);
  }

  cancelAll(): void {
    for (const handle of this.handles) clearTimeout(handle);
    this.handles.clear();
  }
}
