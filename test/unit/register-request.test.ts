/** parseRegister: a drachtio-srf request reduced to what the registrar decides on. */
import test from 'tape';
import type { SrfRequest } from '../../lib/drachtio/sip-router';
import { parseRegister } from '../../lib/registrar/register-request';
import type { ParsedRegister, RegisterRequest } from '../../lib/registrar/register-request.types';

const DEFAULT_EXPIRES = 1234;

/** A REGISTER as drachtio-srf hands it over: lower-cased header names, values as they came. */
function register(headers: Record<string, string | undefined>): SrfRequest {
  const base: Record<string, string | undefined> = {
    via: 'SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1',
    from: '<sip:alice@example.com>;tag=1',
    to: '<sip:alice@example.com>',
    'call-id': 'c1',
    cseq: '7 REGISTER',
    contact: '<sip:alice@10.0.0.5:5060>',
    ...headers,
  };
  const present = Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined));
  return { uri: 'sip:example.com', headers: present, source_address: '10.0.0.5', source_port: '5060' } as unknown as SrfRequest;
}

function parsed(result: ParsedRegister): RegisterRequest | undefined {
  return result.ok ? result.request : undefined;
}

test('register-request: no expiry asked anywhere → the registrar default (RFC 3261 §10.3 step 7)', (t) => {
  const request = parsed(parseRegister(register({}), DEFAULT_EXPIRES));
  t.equal(request?.expires, DEFAULT_EXPIRES, 'the default');
  t.equal(request?.type, 'register', 'a registration, not an unregister');
  t.equal(request?.expiresHeader, undefined, 'no Expires header seen');
  t.equal(parsed(parseRegister(register({ expires: '60' }), DEFAULT_EXPIRES))?.expires, 60, 'an Expires header wins');
  t.equal(parsed(parseRegister(register({ contact: '<sip:alice@10.0.0.5>;expires=90', expires: '60' }), DEFAULT_EXPIRES))?.expires, 90,
    'the first Contact\'s expires parameter wins over both');
  t.equal(parsed(parseRegister(register({ expires: '0' }), DEFAULT_EXPIRES))?.type, 'unregister', 'Expires: 0 is an unregister');
  t.end();
});

test('register-request: Contact: * needs Expires: 0, an absent one included; a malformed Expires is still 400', (t) => {
  t.deepEqual(parseRegister(register({ contact: '*' }), DEFAULT_EXPIRES),
    { ok: false, status: 400, reason: 'Contact: * requires Expires: 0' });
  t.equal(parsed(parseRegister(register({ contact: '*', expires: '0' }), DEFAULT_EXPIRES))?.type, 'unregister');
  t.deepEqual(parseRegister(register({ expires: 'soon' }), DEFAULT_EXPIRES), { ok: false, status: 400 });
  t.end();
});

test('register-request: folded headers are read unfolded', (t) => {
  const request = parsed(parseRegister(register({
    cseq: '7\r\n  REGISTER', to: '"Alice"\r\n <sip:alice@example.com>', contact: '<sip:alice@10.0.0.5:5060>\r\n\t;expires=60',
  }), DEFAULT_EXPIRES));
  t.equal(request?.cseq, 7, 'CSeq');
  t.equal(request?.aor, 'alice@example.com', 'AoR from the To');
  t.equal(request?.contactUri, 'sip:alice@10.0.0.5:5060', 'Contact URI');
  t.equal(request?.expires, 60, 'expires parameter on the continuation line');
  t.end();
});

test('register-request: no Contact header → a query of the To AoR (RFC 3261 §10.2.3), whatever the Expires', (t) => {
  const query = parsed(parseRegister(register({ contact: undefined, expires: '3600' }), DEFAULT_EXPIRES));
  t.equal(query?.type, 'query');
  t.equal(query?.aor, 'alice@example.com');
  t.equal(query?.realm, 'example.com');
  t.deepEqual(query?.contacts, [], 'no contacts');
  t.equal(query?.contactUri, '', 'no Contact URI');
  t.deepEqual(parseRegister(register({ contact: undefined, to: '<sip:a@b@c>' }), DEFAULT_EXPIRES),
    { ok: false, status: 403, reason: 'Invalid address of record' }, 'an unusable To is still 403');
  t.end();
});
