/**
 * A minimal SIP-over-UDP client for tests that need what sipp cannot express: replaying an
 * Authorization verbatim, forging nonces, firing requests faster than a scenario would.
 */
import dgram from 'node:dgram';
import crypto from 'node:crypto';

export interface UdpSipClient {
  localAddress: string;
  localPort: number;
  /** Sends `message` and resolves with the first final response whose CSeq matches, or rejects after `timeoutMs`. */
  request(message: string, timeoutMs?: number): Promise<string>;
  close(): void;
}

export async function createUdpSipClient(localAddress = '127.0.0.1', target: { host: string; port: number }): Promise<UdpSipClient> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, localAddress, resolve));
  const waiters: { key: string; resolve: (msg: string) => void }[] = [];
  const keyOf = (message: string) => `${sipHeader(message, 'Call-ID') ?? ''}|${sipHeader(message, 'CSeq') ?? ''}`;
  socket.on('message', (data) => {
    const text = data.toString();
    const status = Number(/^SIP\/2\.0 (\d{3})/.exec(text)?.[1] ?? 0);
    if (status < 200) return;
    const index = waiters.findIndex((w) => w.key === keyOf(text));
    if (index >= 0) waiters.splice(index, 1)[0].resolve(text);
  });
  return {
    localAddress,
    localPort: socket.address().port,
    request(message, timeoutMs = 5000) {
      const key = keyOf(message);
      return new Promise((resolve, reject) => {
        const waiter = { key, resolve: (msg: string) => { clearTimeout(timer); resolve(msg); } };
        const timer = setTimeout(() => {
          // A waiter left behind would take the answer meant for a later request with the same key.
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no final response to ${key}`));
        }, timeoutMs);
        waiters.push(waiter);
        socket.send(message, target.port, target.host);
      });
    },
    close: () => socket.close(),
  };
}

/** The header lines of a message with folded values (RFC 3261 §7.3.1) joined back onto one line each. */
function unfoldedLines(message: string): string[] {
  return message.replace(/\r\n[ \t]+/g, ' ').split('\r\n');
}

export function sipHeader(message: string, name: string): string | undefined {
  const line = unfoldedLines(message).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(line.indexOf(':') + 1).trim();
}

/** Every value of a header, whether sent as several lines or as one comma-separated line. */
export function sipHeaderValues(message: string, name: string): string[] {
  return unfoldedLines(message)
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .flatMap((l) => l.slice(l.indexOf(':') + 1).split(/,\s*(?=<)/).map((v) => v.trim()));
}

export interface RegisterText {
  user: string;
  realm: string;
  client: { localAddress: string; localPort: number };
  cseq: number;
  callId: string;
  /** Expires header; null leaves it out. Default 600. */
  expires?: number | null;
  /** Contact header value; null leaves the header out. Default `<sip:user@localAddress:localPort>`. */
  contact?: string | null;
  authorization?: string;
  extraHeaders?: string[];
}

export function registerText(r: RegisterText): string {
  return [
    `REGISTER sip:${r.realm} SIP/2.0`,
    `Via: SIP/2.0/UDP ${r.client.localAddress}:${r.client.localPort};branch=z9hG4bK${crypto.randomBytes(6).toString('hex')};rport`,
    'Max-Forwards: 70',
    `From: <sip:${r.user}@${r.realm}>;tag=${r.callId.slice(0, 8)}`,
    `To: <sip:${r.user}@${r.realm}>`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq} REGISTER`,
    ...(r.contact === null ? [] : [`Contact: ${r.contact ?? `<sip:${r.user}@${r.client.localAddress}:${r.client.localPort}>`}`]),
    ...(r.expires === null ? [] : [`Expires: ${r.expires ?? 600}`]),
    ...(r.authorization ? [`Authorization: ${r.authorization}`] : []),
    ...(r.extraHeaders ?? []),
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
}

export function statusLine(message: string): number {
  return Number(/^SIP\/2\.0 (\d{3})/.exec(message)?.[1] ?? 0);
}
