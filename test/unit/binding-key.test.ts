import test from 'tape';
import { bindingKeyFor, normalizeInstanceId } from '../../lib/registrar/binding-key';

test('binding-key: instance id with reg-id, instance id alone, else the Contact URI', (t) => {
  const instance = 'urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF';
  t.equal(bindingKeyFor({ uri: 'sip:a@1.2.3.4', instanceId: instance, regId: 1 }),
    '<urn:uuid:00000000-0000-1000-8000-aabbccddeeff>;reg-id=1');
  t.equal(bindingKeyFor({ uri: 'sip:a@1.2.3.4', instanceId: instance }), '<urn:uuid:00000000-0000-1000-8000-aabbccddeeff>');
  t.equal(bindingKeyFor({ uri: 'sip:a@1.2.3.4;transport=udp', regId: 1 }), 'sip:a@1.2.3.4;transport=udp',
    'reg-id without an instance means nothing (RFC 5626 §4.2)');
  t.equal(bindingKeyFor({ uri: 'sip:a@1.2.3.4', instanceId: '' }), 'sip:a@1.2.3.4', 'an empty instance is ignored');
  t.end();
});

test('binding-key: two flows of one device are two bindings, its moves are one', (t) => {
  const id = 'urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6';
  const flow1 = bindingKeyFor({ uri: 'sip:a@10.0.0.1:5060', instanceId: id, regId: 1 });
  const flow2 = bindingKeyFor({ uri: 'sip:a@10.0.0.1:5062', instanceId: id, regId: 2 });
  const moved = bindingKeyFor({ uri: 'sip:a@192.168.9.9:5060', instanceId: id.toUpperCase().replace('URN:UUID', 'urn:uuid'), regId: 1 });
  t.notEqual(flow1, flow2);
  t.equal(moved, flow1, 'a new address and upper-case hex still refresh the same binding');
  t.end();
});

test('binding-key: instance ids compare case-insensitively for urn:uuid, by URN rules otherwise', (t) => {
  t.equal(normalizeInstanceId('URN:UUID:ABCDEF00-0000-0000-0000-000000000000'), 'urn:uuid:abcdef00-0000-0000-0000-000000000000');
  t.equal(normalizeInstanceId('<urn:uuid:AB>'), 'urn:uuid:ab', 'stray angle brackets tolerated');
  t.equal(normalizeInstanceId('"<urn:uuid:AB>"'), 'urn:uuid:ab', 'and quotes');
  t.equal(normalizeInstanceId('URN:GSMA:IMEI:90420156-025763-0'), 'urn:gsma:IMEI:90420156-025763-0',
    'only "urn:" and the namespace id are case-insensitive in other URNs');
  t.equal(normalizeInstanceId('Opaque-Device-1'), 'Opaque-Device-1', 'a non-URN is compared as written');
  t.end();
});

test('binding-key: Contact URIs ignore the case of scheme and host only', (t) => {
  t.equal(bindingKeyFor({ uri: 'SIP:Alice@PBX.Example.COM:5060;transport=TCP' }), 'sip:Alice@pbx.example.com:5060;transport=TCP');
  t.equal(bindingKeyFor({ uri: 'sip:EXAMPLE.com' }), 'sip:example.com', 'no user part');
  t.equal(bindingKeyFor({ uri: 'sips:bob:Secret@[2001:DB8::1]:5061' }), 'sips:bob:Secret@[2001:db8::1]:5061');
  t.equal(bindingKeyFor({ uri: 'sip:+1555;phone-context=X@Host.net' }), 'sip:+1555;phone-context=X@host.net',
    'a user part with ";" stays intact');
  t.notEqual(bindingKeyFor({ uri: 'sip:alice@h' }), bindingKeyFor({ uri: 'sip:Alice@h' }), 'user parts are case-sensitive');
  t.equal(bindingKeyFor({ uri: 'tel:+15551234' }), 'tel:+15551234', 'a non-SIP URI is kept as sent');
  t.end();
});
