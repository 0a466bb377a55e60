import test from 'tape';
import fc from 'fast-check';
import {
  aorFromUri,
  isIPv4Literal,
  parseHeaderUri,
  parseNameAddr,
  parseSipUri,
  uriFromHeaderValue,
} from '../../lib/sip/uri';

test('uri: well-formed SIP and SIPS URIs', (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['sip:alice@example.com', { scheme: 'sip', user: 'alice', host: 'example.com', hostType: 'hostname', port: undefined }],
    ['SIPS:bob@example.com:5061', { scheme: 'sips', user: 'bob', host: 'example.com', port: 5061 }],
    ['sip:jambonz.org', { user: undefined, host: 'jambonz.org', hostType: 'hostname' }],
    ['sip:john:s3cret@10.0.0.1:5060', { user: 'john', password: 's3cret', host: '10.0.0.1', hostType: 'ipv4', port: 5060 }],
    ['sip:alice@[2001:db8::1]:5070', { host: '[2001:db8::1]', hostType: 'ipv6', port: 5070 }],
    ['sip:alice@[::1]', { host: '[::1]', hostType: 'ipv6', port: undefined }],
    ['sip:+15551234567;npdi@carrier.example', { user: '+15551234567;npdi', host: 'carrier.example' }],
    ['sip:al%20ice@example.com', { user: 'al%20ice' }],
    ['sip:abc123@df7jal23ls0d.invalid;transport=ws', { host: 'df7jal23ls0d.invalid' }],
    ['sip:sipp@127.0.0.1:5060', { host: '127.0.0.1', port: 5060 }],
    ['sip:alice@sbc_1.local', { host: 'sbc_1.local' }],
    ['sip:alice@example.com.', { host: 'example.com.' }],
    ['sip:localhost', { host: 'localhost', hostType: 'hostname' }],
  ];
  for (const [text, expected] of cases) {
    const parsed = parseSipUri(text);
    if (!parsed.ok) {
      t.fail(`${text}: ${parsed.reason}`);
      continue;
    }
    for (const [key, value] of Object.entries(expected)) {
      t.equal((parsed.value as unknown as Record<string, unknown>)[key], value, `${text} ${key}`);
    }
  }
  t.end();
});

test('uri: parameters and headers', (t) => {
  const parsed = parseSipUri('sip:alice@example.com;Transport=TCP;lr;gr=urn:uuid:f81d4fae?Subject=hi%20there&Priority=urgent');
  if (!parsed.ok) return t.fail(parsed.reason);
  t.deepEqual([...parsed.value.params], [['transport', 'TCP'], ['lr', null], ['gr', 'urn:uuid:f81d4fae']]);
  t.deepEqual([...parsed.value.headers], [['subject', 'hi%20there'], ['priority', 'urgent']]);
  t.end();
});

test('uri: malformed URIs fail with a reason, never throw', (t) => {
  const bad = [
    'sip:john@jambonz.org@jambonz.org', // gh-83: "Invalid address of record"
    '',
    '   ',
    'sip:',
    'sip:@example.com',
    'sip:alice@',
    'alice@example.com',
    'tel:+15551234567',
    'http://example.com',
    'sip:alice@example.com:',
    'sip:alice@example.com:99999',
    'sip:alice@example.com:50a',
    'sip:alice@example.com:5060:5061',
    'sip:alice@[2001:db8::1',
    'sip:alice@[fe80::1%eth0]',
    'sip:alice@[not-v6]',
    'sip:alice@[::1]x',
    'sip:al ice@example.com',
    'sip:alice@example.com\r\nX-Injected: 1',
    'sip:alice@exa\u0000mple.com',
    'sip:alice@999.1.1.1',
    'sip:alice@1.2.3',
    'sip:alice@-bad.example.com',
    'sip:alice@bad-.example.com',
    'sip:alice@exa..mple.com',
    'sip:%zz@example.com',
    'sip:a"b@example.com',
    'sip:alice@example.com;;lr',
    'sip:alice@example.com;transport=udp;TRANSPORT=tcp',
    'sip:alice@example.com;x="quoted"',
    'sip:alice@example.com?novalue',
    'sip:alice@exämple.com',
    'sip:\uD800@example.com',
    `sip:alice@${'a'.repeat(64)}.com`,
    'sip:alice:pa:ss@example.com',
  ];
  for (const text of bad) {
    const parsed = parseSipUri(text);
    t.notOk(parsed.ok, `rejects ${JSON.stringify(text)}${parsed.ok ? '' : ` (${parsed.reason})`}`);
  }
  t.end();
});

test('uri: isIPv4Literal is the reference dotted-quad shape test', (t) => {
  t.ok(isIPv4Literal('192.168.1.10'));
  t.ok(isIPv4Literal('999.1.1.1'), 'out-of-range octets are still an IP literal, not a realm');
  t.notOk(isIPv4Literal('jambonz.org'));
  t.notOk(isIPv4Literal('[::1]'));
  t.notOk(isIPv4Literal('1.2.3'));
  t.notOk(isIPv4Literal('1.2.3.4.5'));
  t.notOk(isIPv4Literal('1.2.3.4 '));
  t.end();
});

test('uri: aorFromUri keeps user@host only', (t) => {
  t.equal(aorFromUri('sips:alice@example.com:5061;transport=tls?x=y'), 'alice@example.com');
  t.equal(aorFromUri('sip:bob@[2001:db8::1]:5060'), 'bob@[2001:db8::1]');
  t.equal(aorFromUri('sip:example.com'), undefined, 'no user part: no AoR');
  t.equal(aorFromUri('sip:john@jambonz.org@jambonz.org'), undefined);
  const parsed = parseSipUri('sip:carol@example.org');
  if (parsed.ok) t.equal(aorFromUri(parsed.value), 'carol@example.org');
  t.end();
});

test('uri: name-addr and addr-spec header values', (t) => {
  const cases: Array<[string, { displayName?: string; uri: string; params: Array<[string, string | null]>; bracketed: boolean }]> = [
    ['"Alice" <sip:alice@example.com>;tag=x', { displayName: 'Alice', uri: 'sip:alice@example.com', params: [['tag', 'x']], bracketed: true }],
    ['<sip:alice@example.com;transport=tcp>', { uri: 'sip:alice@example.com;transport=tcp', params: [], bracketed: true }],
    ['Alice Smith <sip:alice@example.com>', { displayName: 'Alice Smith', uri: 'sip:alice@example.com', params: [], bracketed: true }],
    ['"A \\"quoted\\" name" <sip:a@b.com>', { displayName: 'A "quoted" name', uri: 'sip:a@b.com', params: [], bracketed: true }],
    ['"Jöhn, Jr" <sip:j@b.com> ; tag = 1', { displayName: 'Jöhn, Jr', uri: 'sip:j@b.com', params: [['tag', '1']], bracketed: true }],
    ['sip:alice@example.com;tag=abc', { uri: 'sip:alice@example.com', params: [['tag', 'abc']], bracketed: false }],
    ['  sip:alice@example.com  ', { uri: 'sip:alice@example.com', params: [], bracketed: false }],
  ];
  for (const [text, expected] of cases) {
    const parsed = parseNameAddr(text);
    if (!parsed.ok) {
      t.fail(`${text}: ${parsed.reason}`);
      continue;
    }
    t.deepEqual(
      { displayName: parsed.value.displayName, uri: parsed.value.uri, params: [...parsed.value.params], bracketed: parsed.value.bracketed },
      { displayName: expected.displayName, ...expected },
      text,
    );
  }
  t.equal(uriFromHeaderValue('"sipp" <sip:sipp@jambonz.org>'), 'sip:sipp@jambonz.org');
  t.end();
});

test('uri: malformed header values fail', (t) => {
  const bad = [
    '',
    '"unterminated <sip:a@b.com>',
    '"Alice" sip:a@b.com',
    '<sip:a@b.com',
    '<>',
    'Alice <sip:<a@b.com>>',
    'sip:a@b;x=1 <sip:c@d>',
    '<sip:a@b.com> trailing',
    '<sip:a@b.com>;;x',
    '<sip:a@b.com>;tag=1;tag=2',
    '<sip:a@b.com>;tag="open',
    '<sip:a@b.com>\r\n;tag=1',
  ];
  for (const text of bad) t.notOk(parseNameAddr(text).ok, `rejects ${JSON.stringify(text)}`);
  t.end();
});

test('uri: the gh-83 To header cannot yield an address of record', (t) => {
  const parsed = parseHeaderUri('"sipp" <sip:sipp@jambonz.org@jambonz.org>');
  t.notOk(parsed.ok);
  const good = parseHeaderUri('"sipp" <sip:sipp@jambonz.org>');
  t.ok(good.ok && aorFromUri(good.value) === 'sipp@jambonz.org');
  t.end();
});

test('uri: parsers never throw on arbitrary strings (property)', (t) => {
  const hostile = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.string({ unit: fc.constantFrom('s', 'i', 'p', ':', '@', '[', ']', ';', '=', '?', '&', '%', '"', '<', '>', '.', '1', 'a', ' ', '\r'), maxLength: 40 }),
    fc.string({ maxLength: 40 }).map((s) => `sip:${s}`),
  );
  fc.assert(
    fc.property(hostile, (text) => {
      parseSipUri(text);
      parseNameAddr(text);
      parseHeaderUri(text);
      aorFromUri(text);
      isIPv4Literal(text);
    }),
    { numRuns: 3000 },
  );
  t.pass('no exceptions');
  t.end();
});

test('uri: generated URIs parse back to their parts (property)', (t) => {
  const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
  const user = fc.stringMatching(/^[A-Za-z0-9._+-]{1,12}$/);
  const port = fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined });
  fc.assert(
    fc.property(user, fc.array(label, { minLength: 1, maxLength: 4 }), port, fc.boolean(), (u, labels, p, secure) => {
      const host = labels.join('.');
      const text = `${secure ? 'sips' : 'sip'}:${u}@${host}${p === undefined ? '' : `:${p}`};transport=tcp`;
      const parsed = parseSipUri(text);
      return parsed.ok && parsed.value.user === u && parsed.value.host === host && parsed.value.port === p &&
        parsed.value.params.get('transport') === 'tcp' && aorFromUri(parsed.value) === `${u}@${host}`;
    }),
  );
  t.pass('round trip holds');
  t.end();
});
