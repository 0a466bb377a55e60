/**
 * Header folding (RFC 3261 §7.3.1): a header value continued on lines that start with SP or HTAB. The
 * parsers read it as one line; the headers drachtio-srf copies into a response go out unfolded.
 */
import test from 'tape';
import { unfold } from '../../lib/sip/header-tokens';
import { parseContactHeader, parseDeltaSeconds } from '../../lib/sip/contact';
import { parseHeaderUri, parseNameAddr } from '../../lib/sip/uri';
import { parseVia } from '../../lib/sip/via';
import { parseAuthorization } from '../../lib/sip/digest';
import { headerLookup, SrfRequest, SrfResponse } from '../../lib/drachtio/sip-router';
import { unfoldCopiedHeaders } from '../../lib/drachtio/folded-headers';

test('folding: unfold turns each line break followed by blanks into one SP and leaves anything else', (t) => {
  t.equal(unfold('1\r\n  REGISTER'), '1 REGISTER');
  t.equal(unfold('a,\r\n\tb,\r\n c'), 'a, b, c', 'HTAB and several continuations');
  t.equal(unfold('a\n b'), 'a b', 'a bare LF continuation too');
  t.equal(unfold('a\r\nb'), 'a\r\nb', 'a line break without blanks is not folding');
  t.equal(unfold('plain value'), 'plain value');
  const long = `x${' '.repeat(100000)}\r\ny`;
  const start = Date.now();
  t.equal(unfold(long), long, 'a long run of blanks before a bare line break is left as is');
  t.ok(Date.now() - start < 200, 'in linear time');
  t.end();
});

test('folding: the Contact parser reads a folded Contact as one line', (t) => {
  const parsed = parseContactHeader('<sip:alice@10.0.0.1:5060>\r\n  ;expires=300,\r\n\t<sip:alice@10.0.0.2>;q=0.5');
  t.ok(parsed.ok, 'parsed');
  if (!parsed.ok || parsed.value.kind !== 'list') return void t.end();
  t.deepEqual(parsed.value.contacts.map((c) => [c.uri, c.expires, c.q]), [['sip:alice@10.0.0.1:5060', 300, undefined], ['sip:alice@10.0.0.2', undefined, 0.5]]);
  t.notOk(parseContactHeader('<sip:alice@10.0.0.1>\r\nX-Evil: 1').ok, 'a line break that is not folding is still refused');
  t.end();
});

test('folding: From/To name-addrs, Via, Expires and Authorization folded over several lines', (t) => {
  const from = parseNameAddr('"Alice\r\n Smith"\r\n <sip:alice@example.com>\r\n ;tag=87321hj23128');
  t.ok(from.ok && from.value.displayName === 'Alice Smith' && from.value.params.get('tag') === '87321hj23128', 'From with display name and tag');
  const to = parseHeaderUri('\r\n <sip:j.user@example.com>');
  t.ok(to.ok && to.value.user === 'j.user' && to.value.host === 'example.com', 'To starting on a continuation line');
  const via = parseVia('SIP/2.0/UDP 192.0.2.2:5060\r\n  ;branch=z9hG4bK-fold');
  t.ok(via.ok && via.value.transport === 'UDP' && via.value.params.get('branch') === 'z9hG4bK-fold', 'Via');
  t.equal(parseDeltaSeconds('\r\n 3600'), 3600, 'Expires');
  const auth = parseAuthorization('Digest username="alice",\r\n realm="example.com", nonce="n",\r\n\turi="sip:example.com", response="r"');
  t.ok(auth.ok && auth.value.username === 'alice' && auth.value.uri === 'sip:example.com', 'Authorization');
  t.notOk(parseAuthorization('Digest username="alice"\r\nX-Evil: 1').ok, 'an injected line is still refused');
  t.end();
});

test('folding: headerLookup hands the registrar unfolded values', (t) => {
  const header = headerLookup({ headers: { cseq: '1\r\n  REGISTER', 'call-id': 'abc' } } as unknown as SrfRequest);
  t.equal(header('CSeq'), '1 REGISTER');
  t.equal(header('Call-ID'), 'abc');
  t.end();
});

/** drachtio-srf's own classes, for what it really copies; the package ships no typings for them. */
interface SrfMessageLike { toString(): string }
interface SrfResponseLike { req: unknown; msg: SrfMessageLike; status: number; reason: string }
// eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped internals of drachtio-srf
const SipMessage = require('drachtio-srf/lib/sip-parser/message') as new (raw: string) => SrfMessageLike;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped internals of drachtio-srf
const Response = require('drachtio-srf/lib/response') as new () => SrfResponseLike;

const FOLDED_REGISTER = [
  'REGISTER sip:example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK-fold',
  'From: <sip:alice@example.com>\r\n  ;tag=fold1',
  'To: "Alice"\r\n <sip:alice@example.com>',
  'Call-ID: fold-1',
  'CSeq: 1\r\n  REGISTER',
  'Contact: <sip:alice@192.0.2.2>',
  'Content-Length: 0',
  '', '',
].join('\r\n');

function responseTo(raw: string): SrfResponseLike {
  const res = new Response();
  res.req = new SipMessage(raw);
  res.status = 401;
  res.reason = 'Unauthorized';
  return res;
}

test('folding: the response copies of From, To, Call-ID and CSeq go out unfolded', (t) => {
  const untouched = responseTo(FOLDED_REGISTER).msg.toString();
  t.ok(untouched.includes('cseq: 1\r\n  REGISTER'), 'drachtio-srf alone copies the folded CSeq (what drachtio-server refuses)');
  const res = responseTo(FOLDED_REGISTER);
  unfoldCopiedHeaders(res as unknown as SrfResponse);
  const text = res.msg.toString();
  t.notOk(/\r\n[ \t]/.test(text), 'no continuation line left');
  t.ok(text.includes('\r\ncseq: 1 REGISTER\r\n'), 'CSeq');
  t.ok(text.includes('\r\nfrom: <sip:alice@example.com> ;tag=fold1\r\n'), 'From');
  t.ok(text.includes('\r\nto: "Alice" <sip:alice@example.com>\r\n'), 'To');
  t.end();
});
