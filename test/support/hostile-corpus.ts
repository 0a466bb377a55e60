/**
 * Malformed and hostile REGISTER/OPTIONS messages. Each entry is a function of a unique tag, so that its
 * answer can be matched by Via branch and Call-ID; entries without a Via cannot be answered by any SIP
 * server and are expected to be dropped.
 */
export interface HostileMessage {
  name: string;
  /** The bytes to send; `tag` is unique per message. */
  build(tag: string, source: { address: string; port: number }): Buffer;
  /** False when no answer is possible (no Via to answer to). */
  answerable: boolean;
}

const REALM = 'hostile.example.com';

function lines(parts: (string | undefined)[]): string {
  return `${parts.filter((p): p is string => p !== undefined).join('\r\n')}\r\n\r\n`;
}

interface Parts {
  method?: string;
  requestLine?: string;
  via?: string | null;
  from?: string | null;
  to?: string | null;
  callId?: string | null;
  cseq?: string | null;
  contact?: string | null;
  expires?: string | null;
  maxForwards?: string | null;
  extra?: string[];
  body?: string;
  contentLength?: string | null;
}

function message(p: Parts, tag: string, src: { address: string; port: number }): string {
  const method = p.method ?? 'REGISTER';
  const header = (name: string, value: string | null | undefined, fallback: string) =>
    value === null ? undefined : `${name}: ${value ?? fallback}`;
  const body = p.body ?? '';
  return lines([
    p.requestLine ?? `${method} sip:${REALM} SIP/2.0`,
    header('Via', p.via, `SIP/2.0/UDP ${src.address}:${src.port};branch=z9hG4bK${tag};rport`),
    header('Max-Forwards', p.maxForwards, '70'),
    header('From', p.from, `<sip:user${tag}@${REALM}>;tag=f${tag}`),
    header('To', p.to, `<sip:user${tag}@${REALM}>`),
    header('Call-ID', p.callId, `hostile-${tag}`),
    header('CSeq', p.cseq, `1 ${method}`),
    method === 'REGISTER' ? header('Contact', p.contact, `<sip:user${tag}@${src.address}:${src.port}>`) : undefined,
    method === 'REGISTER' ? header('Expires', p.expires, '600') : undefined,
    ...(p.extra ?? []),
    header('Content-Length', p.contentLength, String(Buffer.byteLength(body))),
  ]).replace(/\r\n\r\n$/, `\r\n\r\n${body}`);
}

function entry(name: string, parts: Parts | ((tag: string) => Parts), answerable = true): HostileMessage {
  return {
    name,
    answerable,
    build: (tag, src) => Buffer.from(message(typeof parts === 'function' ? parts(tag) : parts, tag, src)),
  };
}

function rawEntry(name: string, build: (tag: string, src: { address: string; port: number }) => Buffer, answerable = true): HostileMessage {
  return { name, build, answerable };
}

const BAD_URIS = ['sip:', 'sip:@', 'sip:[::1', 'http://example.com', `sip:a@b@${REALM}`, 'sip:%zz@x.com', 'sip:user@',
  'sip:user@-bad-.com', 'sip:üñí@çøm.com', 'sip:user@host:99999', 'sip:user@host:-1', 'tel:+15551234567', '<sip:a@b.com>',
  'sip:a@b.com;;;;', 'sip:a@b.com?', `sip:${'a'.repeat(3000)}@${REALM}`];
const BAD_EXPIRES = ['abc', '-1', '99999999999999999999', '1.5', '', '0x10', '3600 3600', '+60', '１２', '60;x', 'NaN', '4294967296'];
const BAD_AUTH = [
  'Digest username="u, realm="r"',
  'Digest',
  'Basic dXNlcjpwYXNz',
  'NTLM abc',
  'Digest username="u"',
  `Digest username="u", realm="${REALM}", nonce="n", uri="sip:x", response="r", algorithm=ROT13`,
  `Digest username="u", realm="${REALM}", nonce="n", uri="sip:x", response="r", qop=auth, nc=zz, cnonce="c"`,
  `Digest username="u", username="v", realm="${REALM}", nonce="n", uri="sip:x", response="r"`,
  `Digest username="${'x'.repeat(8000)}", realm="${REALM}", nonce="n", uri="sip:x", response="r"`,
  'Digest username="\\"', 'Digest ,,,,,', `Digest realm="${REALM}" nonce="n"`, 'Digest username=u realm=r',
  `Digest username="u", realm="${REALM}", nonce="${'0'.repeat(56)}", uri="sip:x", response="r", opaque="x", qop=auth, nc=00000001, cnonce="c"`,
];
const BAD_CONTACTS = ['<sip:a@b.com', 'sip:a@b.com>', '<>', '"unterminated <sip:a@b.com>', '*, <sip:a@b.com>',
  '<sip:a@b.com>;expires=abc', '<sip:a@b.com>;expires=-5', '<sip:a@b.com>;expires=99999999999999', '<sip:a@b.com>;q=9.9',
  '<sip:a@b.com>;+sip.instance="<urn:uuid:x', `<sip:a@b.com>;${'p=1;'.repeat(500)}`, 'a@b.com', '<sip:a@b.com>,,,,',
  '<sip:a@b.com>;expires=0, <sip:c@d.com>;expires=3600', `<sip:a@b.com>;x="${'"'.repeat(10)}`, '<mailto:a@b.com>'];
const BAD_VIAS = ['SIP/2.0/UDP 127.0.0.1:5999', 'SIP/2.0/UDP', 'SIP/2.0/XYZ 127.0.0.1;branch=z9hG4bKTAG',
  'SIP/2.0/UDP 127.0.0.1:99999;branch=z9hG4bKTAG', 'SIP/2.0/UDP [::1]:5060;branch=z9hG4bKTAG',
  'SIP/1.0/UDP 127.0.0.1;branch=z9hG4bKTAG', 'garbage;branch=z9hG4bKTAG', 'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKTAG;rport=abc',
  'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKTAG;received=not-an-ip', `SIP/2.0/UDP ${'h'.repeat(300)}.com;branch=z9hG4bKTAG`];
const BAD_TOS = ['<sip:a@b.com@c.com>', 'sip:', '<sip:@b.com>', '"x" <>', '<sip:a@[::1>', 'garbage', '<sip:b.com>',
  `<sip:${'%'.repeat(40)}@b.com>`];

export function hostileCorpus(): HostileMessage[] {
  const corpus: HostileMessage[] = [];
  for (const method of ['REGISTER', 'OPTIONS']) {
    for (const header of ['via', 'from', 'to', 'callId', 'cseq', 'maxForwards'] as const) {
      corpus.push(entry(`${method} without ${header}`, { method, [header]: null }, header !== 'via'));
    }
  }
  corpus.push(entry('REGISTER without Contact', { contact: null }));
  corpus.push(entry('REGISTER without any expiry', { expires: null }));
  for (const uri of BAD_URIS) {
    corpus.push(entry(`REGISTER Request-URI ${uri.slice(0, 40)}`, { requestLine: `REGISTER ${uri} SIP/2.0` }));
    corpus.push(entry(`OPTIONS Request-URI ${uri.slice(0, 40)}`, { method: 'OPTIONS', requestLine: `OPTIONS ${uri} SIP/2.0` }));
  }
  for (const value of BAD_EXPIRES) corpus.push(entry(`Expires: ${value}`, { expires: value }));
  for (const value of BAD_AUTH) corpus.push(entry(`Authorization ${value.slice(0, 40)}`, { extra: [`Authorization: ${value}`] }));
  for (const value of BAD_CONTACTS) corpus.push(entry(`Contact ${value.slice(0, 40)}`, { contact: value }));
  for (const value of BAD_TOS) corpus.push(entry(`To ${value.slice(0, 40)}`, { to: value }));
  for (const value of BAD_TOS) corpus.push(entry(`From ${value.slice(0, 40)}`, { from: value }));
  for (const value of BAD_EXPIRES) {
    corpus.push(entry(`Contact expires=${value}`, (tag) => ({ contact: `<sip:user${tag}@10.0.0.1>;expires=${value}`, expires: null })));
  }
  for (const value of BAD_AUTH) {
    corpus.push(entry(`OPTIONS with Authorization ${value.slice(0, 30)}`, { method: 'OPTIONS', extra: [`Authorization: ${value}`] }));
  }
  for (const via of BAD_VIAS) corpus.push(entry(`Via ${via.slice(0, 40)}`, (tag) => ({ via: via.replace('TAG', tag) })));
  corpus.push(...duplicates(), ...oversize(), ...encodings(), ...injections(), ...framing(), ...oddHeaders());
  return corpus;
}

function duplicates(): HostileMessage[] {
  return [
    entry('two To headers', (tag) => ({ extra: [`To: <sip:other${tag}@${REALM}>`] })),
    entry('two CSeq headers', { extra: ['CSeq: 2 REGISTER'] }),
    entry('two Call-ID headers', { extra: ['Call-ID: another'] }),
    entry('two Expires headers', { extra: ['Expires: 0'] }),
    entry('two Contact headers', { extra: ['Contact: <sip:second@10.0.0.1>;expires=0'] }),
    entry('two Authorization headers', { extra: ['Authorization: Digest username="a"', 'Authorization: Digest username="b"'] }),
    entry('CSeq method mismatch', { cseq: '1 OPTIONS' }),
    entry('CSeq not a number', { cseq: 'one REGISTER' }),
    entry('CSeq huge', { cseq: '99999999999999999999 REGISTER' }),
    entry('Max-Forwards 0', { maxForwards: '0' }),
    entry('Max-Forwards garbage', { maxForwards: 'many' }),
  ];
}

function oversize(): HostileMessage[] {
  return [
    entry('4 KB header value', { extra: [`X-Big: ${'a'.repeat(4096)}`] }),
    entry('32 KB header value', { extra: [`X-Big: ${'b'.repeat(32768)}`] }),
    entry('500 headers', { extra: Array.from({ length: 500 }, (_, i) => `X-H${i}: ${i}`) }),
    entry('oversize body', { body: 'x'.repeat(20000), extra: ['Content-Type: text/plain'] }),
    entry('Content-Length larger than the body', { body: 'short', contentLength: '100000', extra: ['Content-Type: text/plain'] }),
    entry('Content-Length negative', { contentLength: '-5' }),
    entry('Content-Length garbage', { contentLength: 'lots' }),
    entry('body without Content-Type', { body: 'hello' }),
    entry('60 KB Contact', { contact: `<sip:${'c'.repeat(60000)}@${REALM}>` }),
  ];
}

function encodings(): HostileMessage[] {
  const withBytes = (name: string, bytes: number[], where: 'to' | 'contact' | 'header') =>
    rawEntry(name, (tag, src) => {
      const text = message({}, tag, src);
      const marker = where === 'to' ? `<sip:user${tag}@` : where === 'contact' ? `<sip:user${tag}@${src.address}` : 'Max-Forwards: 70';
      const at = text.indexOf(marker) + marker.length;
      return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bytes), Buffer.from(text.slice(at))]);
    });
  return [
    withBytes('0xFF 0xFE in To', [0xff, 0xfe], 'to'),
    withBytes('NUL byte in Contact', [0x00], 'contact'),
    withBytes('lone UTF-8 continuation bytes', [0x80, 0x81, 0x82], 'to'),
    withBytes('overlong UTF-8', [0xc0, 0xaf], 'header'),
    withBytes('bell and escape', [0x07, 0x1b], 'header'),
    rawEntry('all compact forms', (tag, src) => Buffer.from(lines([
      `REGISTER sip:${REALM} SIP/2.0`,
      `v: SIP/2.0/UDP ${src.address}:${src.port};branch=z9hG4bK${tag};rport`,
      `f: <sip:c${tag}@${REALM}>;tag=f${tag}`,
      `t: <sip:c${tag}@${REALM}>`,
      `i: hostile-${tag}`,
      'CSeq: 1 REGISTER',
      `m: <sip:c${tag}@${src.address}:${src.port}>`,
      'Expires: 600',
      'l: 0',
    ]))),
    entry('lower-case header names', (tag) => ({ extra: [`x-lower-${tag}: yes`] })),
    entry('folded header line', { extra: ['Subject: first', ' continued'] }),
    entry('tab separators', { extra: ['X-Tab:\tvalue'] }),
  ];
}

function injections(): HostileMessage[] {
  return [
    entry('CRLF-looking escapes in Contact', { contact: `<sip:a@b.com;x=%0d%0aX-Injected:%20yes>` }),
    entry('header smuggled through Contact params', { contact: '<sip:a@b.com>;expires=60;x="\\r\\nX-Injected: yes"' }),
    entry('quotes and brackets in To display name', { to: '"<script>" <sip:a@hostile.example.com>' }),
    entry('SQL in the realm', { requestLine: "REGISTER sip:x'or'1'='1.com SIP/2.0", to: "<sip:a@x'or'1'='1.com>" }),
    entry('SQL in the user', { to: `<sip:a'--@${REALM}>` }),
    entry('glob characters in the realm', { to: '<sip:a@*.example.com>', requestLine: 'REGISTER sip:*.example.com SIP/2.0' }),
    entry('Redis key characters in the AoR', { to: `<sip:a:b\\c@${REALM}>` }),
    entry('JSON in the user', { to: `<sip:{"contact":"x"}@${REALM}>` }),
  ];
}

function oddHeaders(): HostileMessage[] {
  return [
    entry('empty Call-ID', { callId: '' }),
    entry('Call-ID with spaces', (tag) => ({ callId: `a b c ${tag}` })),
    entry('8 KB Call-ID', (tag) => ({ callId: `${tag}${'i'.repeat(8192)}` })),
    entry('CSeq 0', { cseq: '0 REGISTER' }),
    entry('CSeq with three words', { cseq: '1 REGISTER extra' }),
    entry('Require: an unknown extension', { extra: ['Require: foo-bar'] }),
    entry('Proxy-Require: an unknown extension', { extra: ['Proxy-Require: foo-bar'] }),
    entry('Path garbage with Supported: path', { extra: ['Supported: path', 'Path: <<<not a uri'] }),
    entry('Route header', { extra: [`Route: <sip:${REALM};lr>`] }),
    entry('Record-Route in a REGISTER', { extra: [`Record-Route: <sip:${REALM};lr>`] }),
    entry('16 KB User-Agent', { extra: [`User-Agent: ${'u'.repeat(16384)}`] }),
    entry('Date garbage', { extra: ['Date: yesterday-ish'] }),
    entry('Accept garbage', { extra: ['Accept: */*/*;;'] }),
    entry('Expires and contact expires disagree', (tag) => ({ contact: `<sip:user${tag}@10.0.0.2>;expires=0`, expires: '3600' })),
    entry('Contact: * with Expires 0 and no auth', { contact: '*', expires: '0' }),
    entry('Contact: * with Expires 3600', { contact: '*', expires: '3600' }),
    entry('IPv6 Contact', (tag) => ({ contact: `<sip:user${tag}@[2001:db8::1]:5060>` })),
    entry('Contact with display name and params', (tag) => ({ contact: `"Desk \\"phone\\"" <sip:user${tag}@10.0.0.3;transport=tcp>;q=0.5;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1` })),
  ];
}

function framing(): HostileMessage[] {
  return [
    rawEntry('empty datagram', () => Buffer.alloc(0), false),
    rawEntry('CRLF keep-alive', () => Buffer.from('\r\n\r\n'), false),
    rawEntry('random bytes', () => Buffer.from([0x13, 0x37, 0xde, 0xad, 0xbe, 0xef]), false),
    rawEntry('HTTP request', () => Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), false),
    entry('SIP/3.0', { requestLine: `REGISTER sip:${REALM} SIP/3.0` }),
    entry('lower-case method', { requestLine: `register sip:${REALM} SIP/2.0` }),
    entry('unknown method', { method: 'FROBNICATE', requestLine: `FROBNICATE sip:${REALM} SIP/2.0`, cseq: '1 FROBNICATE' }),
    entry('extra spaces in the request line', { requestLine: `REGISTER  sip:${REALM}  SIP/2.0` }),
    rawEntry('headers only, no blank line', (tag, src) => Buffer.from(message({}, tag, src).replace(/\r\n\r\n$/, '\r\n'))),
    rawEntry('LF line endings', (tag, src) => Buffer.from(message({}, tag, src).replace(/\r\n/g, '\n'))),
  ];
}
