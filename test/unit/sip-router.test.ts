/** The request helpers of lib/drachtio/sip-router that need no drachtio connection. */
import test from 'tape';
import { headerLookup, SrfRequest } from '../../lib/drachtio/sip-router';

/** drachtio-srf keeps standard header names lower-cased and X-/P- headers as received. */
function requestWith(headers: Record<string, string>): SrfRequest {
  return { headers } as unknown as SrfRequest;
}

test('headerLookup: any case of a name finds the header; absent headers are undefined', (t) => {
  const header = headerLookup(requestWith({ contact: '<sip:a@10.0.0.1>', 'call-id': 'abc', 'X-FS-Status': 'open', expires: '' }));
  t.equal(header('Contact'), '<sip:a@10.0.0.1>');
  t.equal(header('CALL-ID'), 'abc');
  t.equal(header('Call-ID'), 'abc');
  t.equal(header('x-fs-status'), 'open');
  t.equal(header('Expires'), '', 'an empty header is present');
  t.equal(header('Authorization'), undefined);
  t.end();
});

test('headerLookup: of two names differing only in case, the first wins (as req.get)', (t) => {
  const header = headerLookup(requestWith({ 'X-Foo': 'first', 'x-foo': 'second' }));
  t.equal(header('X-FOO'), 'first');
  t.end();
});
