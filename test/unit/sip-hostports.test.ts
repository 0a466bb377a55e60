import test from 'tape';
import { parseHostports, privateSipAddress, publicSipAddresses } from '../../lib/sip/hostports';
import { CidrSet } from '../../lib/net/cidr';

test('hostports: parses the handshake list, skipping what it does not understand', (t) => {
  t.deepEqual(parseHostports('tcp/127.0.0.1:5060,udp/127.0.0.1:5060'), [
    { protocol: 'tcp', host: '127.0.0.1', port: 5060 },
    { protocol: 'udp', host: '127.0.0.1', port: 5060 },
  ]);
  t.deepEqual(parseHostports('wss/[2001:db8::1]:8443, bogus, sctp/1.2.3.4:5060'), [
    { protocol: 'wss', host: '2001:db8::1', port: 8443 },
  ]);
  t.deepEqual(parseHostports(undefined), []);
  t.end();
});

test('hostports: the private address is the last tcp listener inside the network CIDR', (t) => {
  const network = new CidrSet(['10.0.0.0/8', '172.16.0.0/16']);
  const local = 'udp/10.0.0.5:5060,tcp/3.3.3.3:5060,tcp/10.0.0.5:5060,tcp/172.16.1.2:5070';
  t.equal(privateSipAddress(local, network), '172.16.1.2:5070');
  t.equal(privateSipAddress('tcp/3.3.3.3:5060', network), undefined);
  t.end();
});

test('hostports: public udp/tls/wss, with tls defaulting to the udp IP on 5061', (t) => {
  t.deepEqual(publicSipAddresses('udp/3.3.3.3:5060,tcp/3.3.3.3:5060,wss/3.3.3.3:8443'), {
    udp: '3.3.3.3:5060', tls: '3.3.3.3:5061', wss: '3.3.3.3:8443',
  });
  t.deepEqual(publicSipAddresses('udp/3.3.3.3:5060,tls/3.3.3.3:5062'), { udp: '3.3.3.3:5060', tls: '3.3.3.3:5062' });
  t.end();
});

test('cidr: IPv4 and IPv6 membership', (t) => {
  const set = new CidrSet(['192.168.0.0/24', 'fd00::/8']);
  t.ok(set.contains('192.168.0.200'));
  t.notOk(set.contains('192.168.1.1'));
  t.ok(set.contains('fd12::1'));
  t.notOk(set.contains('2001:db8::1'));
  t.notOk(set.contains('not-an-ip'));
  t.end();
});
