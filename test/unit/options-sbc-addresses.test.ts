/** Which advertised addresses are public, and the sbc_addresses rows built from drachtio's hostports. */
import test from 'tape';
import { isPublicAddress } from '../../lib/sbc/public-address';
import { sbcAddressRows } from '../../lib/sbc/sbc-address-rows';

test('options unit: isPublicAddress', (t) => {
  const cases: [string, boolean][] = [
    ['8.8.8.8', true], ['203.0.113.5', true], ['100.63.255.255', true], ['100.128.0.0', true],
    ['172.15.255.255', true], ['172.32.0.0', true], ['192.169.0.1', true],
    ['10.1.2.3', false], ['172.16.0.1', false], ['172.31.255.255', false], ['192.168.1.1', false],
    ['100.64.0.1', false], ['100.127.255.255', false], ['127.0.0.1', false], ['169.254.10.10', false],
    ['0.0.0.0', false], ['224.0.0.1', false], ['255.255.255.255', false],
    ['2001:4860:4860::8888', true], ['::1', false], ['::', false], ['fe80::1', false], ['fd12:3456::1', false],
    ['fc00::1', false], ['ff02::1', false], ['::ffff:10.0.0.1', false], ['::ffff:8.8.8.8', true],
    ['sbc.example.com', false], ['', false], ['1.2.3', false],
  ];
  for (const [address, expected] of cases) t.equal(isPublicAddress(address), expected, `${address || '(empty)'} → ${expected}`);
  t.end();
});

test('options unit: sbcAddressRows', (t) => {
  t.deepEqual(sbcAddressRows('tcp/203.0.113.5:5060,udp/203.0.113.5:5060,tls/203.0.113.5:5061,wss/203.0.113.5:8443'),
    [{ ipv4: '203.0.113.5', port: 5060, tlsPort: 5061, wssPort: 8443 }], 'one public IP with every port');
  t.deepEqual(sbcAddressRows('udp/203.0.113.5:5080'), [{ ipv4: '203.0.113.5', port: 5080, tlsPort: null, wssPort: null }],
    'no tls or wss listener: null ports');
  t.deepEqual(sbcAddressRows('tcp/203.0.113.5:5090'), [{ ipv4: '203.0.113.5', port: 5090, tlsPort: null, wssPort: null }],
    'tcp only: its port');
  t.deepEqual(sbcAddressRows('udp/10.0.0.5:5060,udp/100.64.0.9:5060,udp/127.0.0.1:5060'), [], 'private, CGNAT, loopback: none');
  t.deepEqual(sbcAddressRows('udp/10.0.0.5:5060,udp/198.51.100.1:5060,tls/198.51.100.2:5061,udp/198.51.100.2:5062'), [
    { ipv4: '198.51.100.1', port: 5060, tlsPort: null, wssPort: null },
    { ipv4: '198.51.100.2', port: 5062, tlsPort: 5061, wssPort: null },
  ], 'two public IPs keep their own ports');
  t.deepEqual(sbcAddressRows('udp/[2001:db8:1::5]:5060,udp/[fd00::5]:5060'),
    [{ ipv4: '2001:db8:1::5', port: 5060, tlsPort: null, wssPort: null }], 'IPv6: global kept, ULA dropped');
  t.deepEqual(sbcAddressRows(undefined), [], 'nothing advertised');
  t.deepEqual(sbcAddressRows('garbage,,udp/x'), [], 'unparseable entries are skipped');
  t.end();
});
