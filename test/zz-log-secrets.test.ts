/**
 * Runs last: searches everything every service under test logged during this run for the secrets the
 * tests used (passwords, hook credentials, webhook secrets, ENCRYPTION_SECRET, nonce keys).
 */
import test from 'tape';
import fs from 'node:fs';

const SECRETS = [
  'alicepw', 'bobpw', 'shapw', 'natpw', 'tcppw', 'byepw', 'fastpw', // clients and hook users
  'Zm9vOmJhcg==', // Basic foo:bar sent to hooks
  'wh_secret_test', // a webhook_secret
  'test-secret', // ENCRYPTION_SECRET of the test bed
  'nonce-secret-for-tests', // REGISTRAR_NONCE_SECRET
  'pw-j2', 'pw-k', // carrier passwords of the regbot tests
  'do-not-print-me', // a DRACHTIO_SECRET given with invalid config
  'operator-test-token-6f1d2c9a8b', 'hook-basic-pw-91bd', 'call-hook-pw-55e0', 'carrier-pw-7d2a', // operator API tests
  'pbx-secret', 'sp-secret', 'other-secret', // inbound credentials of the auth trunk tests
];

test('log secrets: no secret used by the tests appears in any service log line', (t) => {
  const file = process.env.SERVICE_LOG_FILE;
  const text = file && fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  t.comment(`${text.split('\n').length} service log lines searched`);
  for (const secret of SECRETS) {
    const line = text.split('\n').find((l) => l.includes(secret));
    t.notOk(line, `"${secret}" is not logged${line ? `: ${line.slice(0, 300)}` : ''}`);
  }
  t.end();
});
