/**
 * The floor: the least a drachtio-srf app can do for the bench's exchanges, so that the service's CPU can be
 * read as a ratio to it, measured in the same run, at the same rate, through the same drachtio.
 *
 * - REGISTER without credentials: 401 with a Digest challenge (a fresh random nonce).
 * - REGISTER with an Authorization header: 200 echoing the Contact with its expiry. No check of the digest,
 *   no hook, no MySQL, no Redis; the source and Contact are remembered in a Set.
 * - REGISTER without credentials from a source whose Contact the floor has granted: 200 (the service's
 *   fast-path refresh, for the same exchange).
 * - OPTIONS: 200.
 *
 * Run: `node dist/bench/floor-app.js <drachtio host> <port> <secret>`; it prints "connected" once drachtio
 * has it, and exits on SIGTERM.
 */
import crypto from 'node:crypto';
import Srf from 'drachtio-srf';

const [host = '127.0.0.1', port = '9022', secret = 'cymru'] = process.argv.slice(2);
const srf = new Srf();
const granted = new Set<string>();

srf.use('register', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
  const contact = req.get('Contact');
  const expires = req.get('Expires') ?? '3600';
  const binding = `${req.source_address}:${req.source_port} ${contact}`;
  if (!req.has('Authorization') && !granted.has(binding)) {
    const nonce = crypto.randomBytes(16).toString('hex');
    res.send(401, { headers: { 'WWW-Authenticate': `Digest realm="${req.uri.replace(/^sip:/, '')}", nonce="${nonce}", algorithm=MD5, qop="auth"` } });
    return;
  }
  granted.add(binding);
  res.send(200, { headers: { Contact: `${contact};expires=${expires}`, Expires: expires } });
});

srf.use('options', (_req: Srf.SrfRequest, res: Srf.SrfResponse) => {
  res.send(200);
});

srf.connect({ host, port: Number(port), secret });
srf.on('connect', () => process.stdout.write('connected\n'));
srf.on('error', (err: Error) => process.stderr.write(`floor: ${err.message}\n`));
process.on('SIGTERM', () => {
  srf.disconnect();
  process.exit(0);
});
