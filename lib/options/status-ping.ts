/**
 * Feature servers and RTP servers announce themselves to the SBC with OPTIONS carrying `X-FS-Status` or
 * `X-RTP-Status`. This file turns such a request into a check-in; anything else is an external ping.
 */

export type MemberKind = 'fs' | 'rtp';

export interface StatusPing {
  kind: MemberKind;
  /** `open` keeps the member in its set; any other value takes it out (as jambonz does). */
  open: boolean;
  /** The set member: `ip:port` for a feature server, the bare IP for an RTP server (jambonz's formats). */
  member: string;
  sourceIp: string;
  /** `X-FS-ServiceUrl`, feature servers only. */
  serviceUrl?: string;
}

export interface PingSource {
  address: string;
  port: number;
  header(name: string): string | undefined;
}

/** The check-in an OPTIONS carries, or undefined for an external ping (no status header). */
export function parseStatusPing(source: PingSource): StatusPing | undefined {
  const fsStatus = nonEmpty(source.header('X-FS-Status'));
  if (fsStatus !== undefined) {
    return {
      kind: 'fs',
      open: isOpen(fsStatus),
      member: `${source.address}:${source.port}`,
      sourceIp: source.address,
      serviceUrl: nonEmpty(source.header('X-FS-ServiceUrl')),
    };
  }
  const rtpStatus = nonEmpty(source.header('X-RTP-Status'));
  if (rtpStatus !== undefined) {
    return { kind: 'rtp', open: isOpen(rtpStatus), member: source.address, sourceIp: source.address };
  }
  return undefined;
}

function isOpen(status: string): boolean {
  return status.toLowerCase() === 'open';
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
