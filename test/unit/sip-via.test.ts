import test from 'tape';
import fc from 'fast-check';
import { parseVia, parseViaList, transportFromVia } from '../../lib/sip/via';

test('via: the top Via and its well-known parameters', (t) => {
  const parsed = parseVia('SIP/2.0/UDP 192.168.1.5:5060;rport;branch=z9hG4bK776asdhds;received=203.0.113.7');
  if (!parsed.ok) return t.fail(parsed.reason);
  const via = parsed.value;
  t.equal(via.protocolName, 'SIP');
  t.equal(via.protocolVersion, '2.0');
  t.equal(via.transport, 'UDP');
  t.equal(via.host, '192.168.1.5');
  t.equal(via.hostType, 'ipv4');
  t.equal(via.port, 5060);
  t.equal(via.branch, 'z9hG4bK776asdhds');
  t.equal(via.received, '203.0.113.7');
  t.equal(via.rportRequested, true);
  t.equal(via.rport, undefined);
  t.end();
});

test('via: variants', (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK1', { transport: 'WSS', host: 'df7jal23ls0d.invalid', port: undefined }],
    ['SIP / 2.0 / TCP  host.example.com : 5070 ;branch=z9hG4bK2', { transport: 'TCP', host: 'host.example.com', port: 5070 }],
    ['SIP/2.0/TLS [2001:db8::9]:5061;rport=61000;received=2001:db8::1', { host: '[2001:db8::9]', hostType: 'ipv6', port: 5061, rport: 61000, received: '2001:db8::1' }],
    ['SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bKe0D3r9paXF0DH', { host: '127.0.0.1', port: undefined, rportRequested: true }],
    ['SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK3, SIP/2.0/TCP 10.0.0.2:5060;branch=z9hG4bK4', { host: '10.0.0.1', branch: 'z9hG4bK3' }],
  ];
  for (const [text, expected] of cases) {
    const parsed = parseVia(text);
    if (!parsed.ok) {
      t.fail(`${text}: ${parsed.reason}`);
      continue;
    }
    for (const [key, value] of Object.entries(expected)) {
      t.equal((parsed.value as unknown as Record<string, unknown>)[key], value, `${text} ${key}`);
    }
  }
  const list = parseViaList(['SIP/2.0/UDP a.example.com;branch=z9hG4bK1', 'SIP/2.0/TCP b.example.com;branch=z9hG4bK2, SIP/2.0/WS c.example.com']);
  t.deepEqual(list.ok && list.value.map((v) => v.host), ['a.example.com', 'b.example.com', 'c.example.com']);
  t.end();
});

test('via: malformed values give an error result', (t) => {
  const bad = [
    '',
    'SIP/2.0/UDP',
    'SIP/2.0 UDP host',
    'SIP/2.0/UDP host:99999',
    'SIP/2.0/UDP host;received=not-an-ip',
    'SIP/2.0/UDP host;received',
    'SIP/2.0/UDP host;rport=abc',
    'SIP/2.0/UDP host;branch="unterminated',
    'SIP/2.0/UDP ho st',
    'SIP/2.0/UDP [::1;branch=x',
    'SIP/2.0/UDP host\r\n;branch=x',
  ];
  for (const text of bad) t.notOk(parseVia(text).ok, `rejects ${JSON.stringify(text)}`);
  t.end();
});

test('via: transportFromVia', (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['SIP/2.0/UDP 1.2.3.4:5060', 'udp'],
    ['SIP/2.0/tcp 1.2.3.4:5060', 'tcp'],
    ['SIP/2.0/TLS 1.2.3.4:5061', 'tls'],
    ['SIP/2.0/WS abc.invalid', 'ws'],
    ['SIP/2.0/WSS abc.invalid', 'wss'],
    ['SIP/2.0/SCTP 1.2.3.4', undefined],
    ['SIP/2.0/TLS-SCTP 1.2.3.4', undefined],
    ['SIP/2.0/constructor 1.2.3.4', undefined],
    ['SIP/2.0/__proto__ 1.2.3.4', undefined],
    ['garbage', undefined],
  ];
  for (const [text, expected] of cases) t.equal(transportFromVia(text), expected, text);
  t.equal(transportFromVia(['SIP/2.0/WSS a.invalid', 'SIP/2.0/UDP b']), 'wss');
  t.equal(transportFromVia(undefined), undefined);
  const parsed = parseVia('SIP/2.0/TCP h');
  if (parsed.ok) t.equal(transportFromVia(parsed.value), 'tcp');
  t.end();
});

test('via: parser never throws on arbitrary input (property)', (t) => {
  const viaish = fc.string({
    unit: fc.constantFrom('SIP', '/', '2.0', 'UDP', ' ', ';', '=', ':', '[', ']', 'rport', 'received', '1', '.', ',', '"', 'h'),
    maxLength: 30,
  });
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), viaish), (text) => {
      parseVia(text);
      parseViaList(text);
      transportFromVia(text);
    }),
    { numRuns: 3000 },
  );
  t.pass('no exceptions');
  t.end();
});
