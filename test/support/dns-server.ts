/**
 * A tiny authoritative DNS server over UDP for tests: answers A and SRV questions from a zone table
 * (NXDOMAIN for names it does not know, an empty NOERROR answer for a known name without records of the
 * type asked), and records every question. Enough for node's dns.Resolver pointed at it with setServers.
 * The wire format (RFC 1035 §4, RFC 2782) is encoded by hand: one question in, answers out, no compression
 * except the pointer back to the question name.
 */
import dgram from 'node:dgram';

export interface SrvTarget {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface DnsZone {
  a?: Record<string, string[]>;
  srv?: Record<string, SrvTarget[]>;
  /** TTL of every answer, seconds (default 60). */
  ttl?: number;
}

export interface DnsQuestion {
  name: string;
  type: 'A' | 'SRV' | number;
}

const TYPE_A = 1;
const TYPE_SRV = 33;
const CLASS_IN = 1;
const RCODE_NXDOMAIN = 3;
/** Pointer to offset 12, where the question name starts. */
const NAME_POINTER = 0xc00c;

export class LocalDnsServer {
  readonly questions: DnsQuestion[] = [];
  private socket: dgram.Socket | undefined;
  private port = 0;

  constructor(public zone: DnsZone) {}

  /** Listens on a free UDP port of `host`; returns `host:port`, as dns.Resolver#setServers takes it. */
  async start(host = '127.0.0.1'): Promise<string> {
    const socket = dgram.createSocket('udp4');
    this.socket = socket;
    socket.on('message', (msg, rinfo) => {
      const reply = this.answer(msg);
      if (reply) socket.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => resolve());
    });
    this.port = socket.address().port;
    return `${host}:${this.port}`;
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private answer(query: Buffer): Buffer | undefined {
    const question = parseQuestion(query);
    if (!question) return undefined;
    const name = question.name.toLowerCase();
    this.questions.push({ name, type: question.type === TYPE_A ? 'A' : question.type === TYPE_SRV ? 'SRV' : question.type });
    const known = Boolean(this.zone.a?.[name] ?? this.zone.srv?.[name]);
    const answers = known ? this.records(name, question.type) : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0); // id
    const recursionDesired = query.readUInt16BE(2) & 0x0100;
    header.writeUInt16BE(0x8400 | recursionDesired | (known ? 0 : RCODE_NXDOMAIN), 2); // response, authoritative
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    return Buffer.concat([header, query.subarray(12, question.end), ...answers]);
  }

  private records(name: string, type: number): Buffer[] {
    const ttl = this.zone.ttl ?? 60;
    if (type === TYPE_A) return (this.zone.a?.[name] ?? []).map((ip) => record(TYPE_A, ttl, Buffer.from(ip.split('.').map(Number))));
    if (type === TYPE_SRV) {
      return (this.zone.srv?.[name] ?? []).map((srv) => {
        const fixed = Buffer.alloc(6);
        fixed.writeUInt16BE(srv.priority, 0);
        fixed.writeUInt16BE(srv.weight, 2);
        fixed.writeUInt16BE(srv.port, 4);
        return record(TYPE_SRV, ttl, Buffer.concat([fixed, encodeName(srv.target)]));
      });
    }
    return [];
  }
}

function parseQuestion(query: Buffer): { name: string; type: number; end: number } | undefined {
  if (query.length < 12 || query.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let offset = 12;
  while (offset < query.length && query[offset] !== 0) {
    const length = query[offset];
    if (length > 63) return undefined; // a compressed question name: never sent by resolvers
    labels.push(query.toString('latin1', offset + 1, offset + 1 + length));
    offset += 1 + length;
  }
  if (offset + 5 > query.length) return undefined;
  const type = query.readUInt16BE(offset + 1);
  return { name: labels.join('.'), type, end: offset + 5 };
}

function record(type: number, ttl: number, data: Buffer): Buffer {
  const fixed = Buffer.alloc(12);
  fixed.writeUInt16BE(NAME_POINTER, 0);
  fixed.writeUInt16BE(type, 2);
  fixed.writeUInt16BE(CLASS_IN, 4);
  fixed.writeUInt32BE(ttl, 6);
  fixed.writeUInt16BE(data.length, 10);
  return Buffer.concat([fixed, data]);
}

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').map((label) => {
    const bytes = Buffer.from(label, 'latin1');
    return Buffer.concat([Buffer.from([bytes.length]), bytes]);
  });
  return Buffer.concat([...labels, Buffer.from([0])]);
}
