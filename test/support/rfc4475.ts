/**
 * RFC 4475 ("SIP Torture Test Messages") as test data: every message of it that a registrar or an OPTIONS
 * responder can receive, that is every REGISTER and OPTIONS request (INVITEs, MESSAGEs, responses and
 * unknown methods never reach this service: drachtio-server answers or routes them elsewhere).
 *
 * The bytes are those of the RFC's archive (its Appendix A): lines end in CRLF, whitespace is kept as is,
 * folded lines stay folded, and the RFC's conventions are expanded (scalar02's `<repeat count=100>0`).
 * Two quirks of the archive are kept on purpose: baddn.dat ends after one CRLF (no empty line), and
 * mcl01.dat's body ends in two. No message is rewritten: the test bed seeds an account for the RFC's own
 * realm `example.com`. The one change is made on the wire for `bext01`, whose Via names TLS: the stand-in has no
 * TLS listener and drops a request whose Via transport is not the one it came on (as sofia-sip does), so it
 * is sent over TCP with its Via saying TCP (`sentAs`).
 *
 * `allowed` lists the answers the RFC allows for each message (0: no answer, i.e. dropped), with the RFC's
 * reason in `why`. A registrar "that cares about challenge-response authentication" challenges before it
 * acts, so where the RFC expects a REGISTER to be processed normally, a 401 is that processing's first step;
 * `succeeds` marks those the RFC says must then succeed, with the bindings it must hold.
 */
export type Rfc4475Transport = 'udp' | 'tcp';

export interface Rfc4475Message {
  /** The archive's file name without `.dat`. */
  name: string;
  section: string;
  title: string;
  method: 'REGISTER' | 'OPTIONS';
  transport: Rfc4475Transport;
  bytes: Buffer;
  /** A change made on the wire only (`bext01`: the TLS of its Via becomes TCP). */
  sentAs?: [string, string];
  allowed: number[];
  why: string;
  /** REGISTERs the RFC says must succeed: the Contact URIs the binding(s) must be stored under. */
  succeeds?: { aor: string; contacts: string[] };
}

const CRLF = '\r\n';

/** Header lines (and an optional body) as the archive has them: CRLF after every line, an empty line, the body. */
function message(lines: string[], body = ''): Buffer {
  return Buffer.from(lines.join(CRLF) + CRLF + CRLF + body, 'utf8');
}

export const RFC4475_MESSAGES: Rfc4475Message[] = [
  {
    name: 'escnull', section: '3.1.1.4', title: 'Escaped Nulls in URIs', method: 'REGISTER', transport: 'udp',
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      'To: sip:null-%00-null@example.com',
      'From: sip:null-%00-null@example.com;tag=839923423',
      'Max-Forwards: 70',
      'Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd',
      'CSeq: 14398234 REGISTER',
      'Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw',
      'Contact: <sip:%00@host5.example.com>',
      'Contact: <sip:%00%00@host5.example.com>',
      'L:0',
    ]),
    allowed: [401],
    why: 'well formed and must be accepted; the AoR must not be cut short at the escaped null; two distinct contacts are registered',
    succeeds: { aor: 'null-%00-null@example.com', contacts: ['sip:%00@host5.example.com', 'sip:%00%00@host5.example.com'] },
  },
  {
    name: 'lwsdisp', section: '3.1.1.6', title: 'Message with No LWS between Display Name and <', method: 'OPTIONS',
    transport: 'udp',
    bytes: message([
      'OPTIONS sip:user@example.com SIP/2.0',
      'To: sip:user@example.com',
      'From: caller<sip:caller@example.com>;tag=323',
      'Max-Forwards: 70',
      'Call-ID: lwsdisp.1234abcd@funky.example.com',
      'CSeq: 60 OPTIONS',
      'Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw',
      'l: 0',
    ]),
    allowed: [200],
    why: 'a known grammar bug of RFC 3261: elements should accept it as well formed',
  },
  {
    name: 'dblreq', section: '3.1.1.8', title: 'Extra Trailing Octets in a UDP Datagram', method: 'REGISTER', transport: 'udp',
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      'To: sip:j.user@example.com',
      'From: sip:j.user@example.com;tag=43251j3j324',
      'Max-Forwards: 8',
      'I: dblreq.0ha0isndaksdj99sdfafnl3lk233412',
      'Contact: sip:j.user@host.example.com',
      'CSeq: 8 REGISTER',
      'Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492',
      'Content-Length: 0',
    ], [
      '',
      'INVITE sip:joe@example.com SIP/2.0',
      't: sip:joe@example.com',
      'From: sip:caller@example.net;tag=141334',
      'Max-Forwards: 8',
      'Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15',
      'CSeq: 8 INVITE',
      'Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234',
      'Content-Type: application/sdp',
      'Content-Length: 150',
      '',
      'v=0',
      'o=mhandley 29739 7272939 IN IP4 192.0.2.15',
      's=-',
      'c=IN IP4 192.0.2.15',
      't=0 0',
      'm=audio 49217 RTP/AVP 0 12',
      'm =video 3227 RTP/AVP 31',
      'a=rtpmap:31 LPC',
      '',
      '',
    ].join(CRLF)),
    allowed: [401],
    why: 'the REGISTER is handled normally; the octets after it (which look like an INVITE) are noise to ignore (RFC 3261 §18.3)',
    succeeds: { aor: 'j.user@example.com', contacts: ['sip:j.user@host.example.com'] },
  },
  {
    name: 'semiuri', section: '3.1.1.9', title: 'Semicolon-Separated Parameters in URI User Part', method: 'OPTIONS',
    transport: 'udp',
    bytes: message([
      'OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0',
      'To: sip:j_user@example.com',
      'From: sip:caller@example.org;tag=33242',
      'Max-Forwards: 3',
      'Call-ID: semiuri.0ha0isndaksdj',
      'CSeq: 8 OPTIONS',
      'Accept: application/sdp, application/pkcs7-mime,',
      '        multipart/mixed, multipart/signed,',
      '        message/sip, message/sipfrag',
      'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw',
      'l: 0',
    ]),
    allowed: [200],
    why: 'well formed: the user part holds a semicolon; the folded Accept is legal',
  },
  {
    name: 'transports', section: '3.1.1.10', title: 'Varied and Unknown Transport Types', method: 'OPTIONS', transport: 'udp',
    bytes: message([
      'OPTIONS sip:user@example.com SIP/2.0',
      'To: sip:user@example.com',
      'From: <sip:caller@example.com>;tag=323',
      'Max-Forwards: 70',
      'Call-ID:  transports.kijh4akdnaqjkwendsasfdj',
      'Accept: application/sdp',
      'CSeq: 60 OPTIONS',
      'Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw',
      'Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf',
      'Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj',
      'Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en',
      'Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee',
      'l: 0',
    ]),
    allowed: [200],
    why: 'parsers must accept every transport token; it is processed as any other request',
  },
  {
    name: 'scalar02', section: '3.1.2.4', title: 'Request Scalar Fields with Overlarge Values', method: 'REGISTER',
    transport: 'tcp',
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      'Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3',
      'To: <sip:user@example.com>',
      'From: <sip:user@example.com>;tag=239232jh3',
      'CSeq: 36893488147419103232 REGISTER',
      'Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32',
      'Max-Forwards: 300',
      `Expires: 1${'0'.repeat(100)}`,
      'Contact: <sip:user@host129.example.com>',
      '  ;expires=280297596632815',
      'Content-Length: 0',
    ]),
    allowed: [400],
    why: 'the CSeq number is above 2**32-1: an element should answer 400 Bad Request',
  },
  {
    name: 'trws', section: '3.1.2.10', title: 'SP Characters at End of Request-Line', method: 'OPTIONS', transport: 'tcp',
    bytes: message([
      'OPTIONS sip:remote-target@example.com SIP/2.0  ',
      'Via: SIP/2.0/TCP host1.examle.com;branch=z9hG4bK299342093',
      'To: <sip:remote-target@example.com>',
      'From: <sip:local-resource@example.com>;tag=329429089',
      'Call-ID: trws.oicu34958239neffasdhr2345r',
      'Accept: application/sdp',
      'CSeq: 238923 OPTIONS',
      'Max-Forwards: 70',
      'Content-Length: 0',
    ]),
    allowed: [400, 200, 0],
    why: 'invalid (SP after the SIP-Version): it should get 400, or a liberal element takes it as the request it obviously is; '
      + 'drachtio-server\'s parser (sofia-sip) discards a request line it cannot read, as the stand-in does, so the service never sees it',
  },
  {
    name: 'regbadct', section: '3.1.2.13', title: 'Failure to Enclose name-addr URI in <>', method: 'REGISTER', transport: 'udp',
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      'To: sip:user@example.com',
      'From: sip:user@example.com;tag=998332',
      'Max-Forwards: 70',
      'Call-ID: regbadct.k345asrl3fdbv@10.0.0.1',
      'CSeq: 1 REGISTER',
      'Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw',
      'Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E',
      'l: 0',
    ]),
    allowed: [400, 401],
    why: 'an escaped header needs name-addr form: 400 is reasonable; a liberal element may infer the angle brackets',
  },
  {
    name: 'badaspec', section: '3.1.2.14', title: 'Spaces within addr-spec', method: 'OPTIONS', transport: 'udp',
    bytes: message([
      'OPTIONS sip:user@example.org SIP/2.0',
      'Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234',
      'Max-Forwards: 70',
      'From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423',
      'To: "Watson, Thomas" < sip:t.watson@example.org >',
      'Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3',
      'Accept: application/sdp',
      'CSeq: 3923239 OPTIONS',
      'l: 0',
    ]),
    allowed: [400, 200],
    why: 'spaces inside the To addr-spec: rejecting with 400 is reasonable; a liberal element may ignore the spaces',
  },
  {
    name: 'baddn', section: '3.1.2.15', title: 'Non-token Characters in Display Name', method: 'OPTIONS', transport: 'udp',
    // The archive's baddn.dat ends after one CRLF: there is no empty line after the last header.
    bytes: Buffer.from([
      'OPTIONS sip:t.watson@example.org SIP/2.0',
      'Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw',
      'Max-Forwards:      70',
      'From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43',
      'To:      Watson, Thomas <sip:t.watson@example.org>',
      'Call-ID: baddn.31415@c.example.com',
      'Accept: application/sdp',
      'CSeq:    3923239 OPTIONS',
      'l: 0',
    ].join(CRLF) + CRLF, 'utf8'),
    allowed: [400, 200],
    why: 'unquoted display names with non-token characters: 400 is always reasonable; an element may infer the quotes',
  },
  {
    name: 'badvers', section: '3.1.2.16', title: 'Unknown Protocol Version', method: 'OPTIONS', transport: 'udp',
    bytes: message([
      'OPTIONS sip:t.watson@example.org SIP/7.0',
      'Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw',
      'Max-Forwards:     70',
      'From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe',
      'To:      T. Watson <sip:t.watson@example.org>',
      'Call-ID: badvers.31417@c.example.com',
      'CSeq:    1 OPTIONS',
      'l: 0',
    ]),
    allowed: [505, 400, 0],
    why: 'SIP/7.0: an RFC 3261 element should answer 505 Version Not Supported (its Via, SIP/7.0 too, may not parse at all: 400, or dropped)',
  },
  {
    name: 'mismatch01', section: '3.1.2.17', title: 'Start Line and CSeq Method Mismatch', method: 'OPTIONS', transport: 'udp',
    bytes: message([
      'OPTIONS sip:user@example.com SIP/2.0',
      'To: sip:j.user@example.com',
      'From: sip:caller@example.net;tag=34525',
      'Max-Forwards: 6',
      'Call-ID: mismatch01.dj0234sxdfl3',
      'CSeq: 8 INVITE',
      'Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw',
      'l: 0',
    ]),
    allowed: [400],
    why: 'the CSeq method is not the request method: any element answers 400 Bad Request',
  },
  {
    name: 'badbranch', section: '3.2.1', title: 'Missing Transaction Identifier', method: 'OPTIONS', transport: 'udp',
    bytes: message([
      'OPTIONS sip:user@example.com SIP/2.0',
      'To: sip:user@example.com',
      'From: sip:caller@example.org;tag=33242',
      'Max-Forwards: 3',
      'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK',
      'Accept: application/sdp',
      'Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n',
      'CSeq: 8 OPTIONS',
      'l: 0',
    ]),
    allowed: [400, 200],
    why: 'the magic cookie without an identifier: reject with 400, or fall back to the RFC 2543 transaction identifier',
  },
  {
    name: 'unkscm', section: '3.3.2', title: 'Request-URI with Unknown Scheme', method: 'OPTIONS', transport: 'tcp',
    bytes: message([
      'OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0',
      'To: sip:user@example.com',
      'From: sip:caller@example.net;tag=384',
      'Max-Forwards: 3',
      'Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34',
      'CSeq: 3923423 OPTIONS',
      'Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234',
      'Content-Length: 0',
    ]),
    allowed: [416],
    why: 'an element receiving it rejects it with 416 Unsupported URI Scheme',
  },
  {
    name: 'novelsc', section: '3.3.3', title: 'Request-URI with Known but Atypical Scheme', method: 'OPTIONS', transport: 'tcp',
    bytes: message([
      'OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0',
      'To: sip:user@example.com',
      'From: sip:caller@example.net;tag=384',
      'Max-Forwards: 3',
      'Call-ID: novelsc.asdfasser0q239nwsdfasdkl34',
      'CSeq: 3923423 OPTIONS',
      'Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234',
      'Content-Length: 0',
    ]),
    allowed: [416, 404],
    why: 'well formed; 416 from an element that never accepts the scheme, 404 from one that accepts some such URIs',
  },
  {
    name: 'unksm2', section: '3.3.4', title: 'Unknown URI Schemes in Header Fields', method: 'REGISTER', transport: 'udp',
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      'To: isbn:2983792873',
      'From: <http://www.example.com>;tag=3234233',
      'Call-ID: unksm2.daksdj@hyphenated-host.example.com',
      'CSeq: 234902 REGISTER',
      'Max-Forwards: 70',
      'Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw',
      'Contact: <name:John_Smith>',
      'l: 0',
    ]),
    allowed: [400],
    why: 'syntactically valid, but a registrar rejects it with 400: the To must hold a SIP or SIPS URI as the AoR',
  },
  {
    name: 'bext01', section: '3.3.5', title: 'Proxy-Require and Require', method: 'OPTIONS', transport: 'tcp',
    bytes: message([
      'OPTIONS sip:user@example.com SIP/2.0',
      'To: sip:j_user@example.com',
      'From: sip:caller@example.net;tag=242etr',
      'Max-Forwards: 6',
      'Call-ID: bext01.0ha0isndaksdj',
      'Require: nothingSupportsThis, nothingSupportsThisEither',
      'Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis',
      'CSeq: 8 OPTIONS',
      'Via: SIP/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw',
      'Content-Length: 0',
    ]),
    sentAs: ['SIP/2.0/TLS', 'SIP/2.0/TCP'],
    allowed: [420],
    why: 'a UAS answers 420 Bad Extension with an Unsupported header listing the Require option-tags',
  },
  {
    name: 'regaut01', section: '3.3.7', title: 'Unknown Authorization Scheme', method: 'REGISTER', transport: 'tcp',
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      'To: sip:j.user@example.com',
      'From: sip:j.user@example.com;tag=87321hj23128',
      'Max-Forwards: 8',
      'Call-ID: regaut01.0ha0isndaksdj',
      'CSeq: 9338 REGISTER',
      'Via: SIP/2.0/TCP 192.0.2.253;branch=z9hG4bKkdjuw',
      'Authorization: NoOneKnowsThisScheme opaque-data=here',
      'Content-Length:0',
    ]),
    allowed: [401],
    why: 'well formed; a registrar that cares about authentication rejects it with 401 and a challenge in a scheme it knows',
  },
  {
    name: 'mcl01', section: '3.3.9', title: 'Multiple Content-Length Values', method: 'OPTIONS', transport: 'udp',
    bytes: message([
      'OPTIONS sip:user@example.com SIP/2.0',
      'Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423',
      'To: sip:user@example.com',
      'From: sip:other@example.net;tag=3923942',
      'Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf',
      'CSeq: 15932 OPTIONS',
      'Content-Length: 13',
      'Max-Forwards: 60',
      'Content-Length: 5',
      'Content-Type: text/plain',
    ], `There's no way to know how many octets are supposed to be here.${CRLF}${CRLF}`),
    allowed: [400],
    why: 'over UDP, an element answers with an error (400 Bad Request) and discards the message',
  },
  {
    name: 'zeromf', section: '3.3.11', title: 'Max-Forwards of Zero', method: 'OPTIONS', transport: 'udp',
    bytes: message([
      'OPTIONS sip:user@example.com SIP/2.0',
      'To: sip:user@example.com',
      'From: sip:caller@example.net;tag=3ghsd41',
      'Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas',
      'CSeq: 39234321 OPTIONS',
      'Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i',
      'Max-Forwards: 0',
      'Content-Length: 0',
    ]),
    allowed: [200],
    why: 'an endpoint processes it as if Max-Forwards were still positive (only a proxy answers 483)',
  },
  {
    name: 'cparam01', section: '3.3.12', title: 'REGISTER with a Contact Header Parameter', method: 'REGISTER', transport: 'udp',
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      'Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw',
      'Max-Forwards: 70',
      'From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe',
      'To: sip:watson@example.com',
      'Call-ID: cparam01.70710@saturn.example.com',
      'CSeq: 2 REGISTER',
      'Contact: sip:+19725552222@gw1.example.net;unknownparam',
      'l: 0',
    ]),
    allowed: [401],
    why: 'should succeed; unknownparam is a contact-param (the Contact is no name-addr), so the binding is to the URI without it',
    succeeds: { aor: 'watson@example.com', contacts: ['sip:+19725552222@gw1.example.net'] },
  },
  {
    name: 'cparam02', section: '3.3.13', title: 'REGISTER with a url-parameter', method: 'REGISTER', transport: 'udp',
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      'Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw',
      'Max-Forwards: 70',
      'From: sip:watson@example.com;tag=838293',
      'To: sip:watson@example.com',
      'Call-ID: cparam02.70710@saturn.example.com',
      'CSeq: 3 REGISTER',
      'Contact: <sip:+19725552222@gw1.example.net;unknownparam>',
      'l: 0',
    ]),
    allowed: [401],
    why: 'should succeed, and the binding keeps unknownparam as a url-parameter',
    succeeds: { aor: 'watson@example.com', contacts: ['sip:+19725552222@gw1.example.net;unknownparam'] },
  },
  {
    name: 'regescrt', section: '3.3.14', title: 'REGISTER with a URL Escaped Header', method: 'REGISTER', transport: 'udp',
    bytes: message([
      'REGISTER sip:example.com SIP/2.0',
      'To: sip:user@example.com',
      'From: sip:user@example.com;tag=8',
      'Max-Forwards: 70',
      'Call-ID: regescrt.k345asrl3fdbv@192.0.2.1',
      'CSeq: 14398234 REGISTER',
      'Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw',
      'M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>',
      'L:0',
    ]),
    allowed: [401],
    why: 'should succeed, and the binding keeps the escaped Route header in its URI',
    succeeds: { aor: 'user@example.com', contacts: ['sip:user@example.com?Route=%3Csip:sip.example.com%3E'] },
  },
];

/** The RFC's realm: the test bed seeds an account for it so that no message needs rewriting. */
/** The bytes sent: the archive's, with `sentAs` applied. */
export function wireBytes(msg: Rfc4475Message): Buffer {
  if (!msg.sentAs) return msg.bytes;
  const [from, to] = msg.sentAs;
  return Buffer.from(msg.bytes.toString('latin1').replace(from, to), 'latin1');
}

export const RFC4475_REALM = 'example.com';
