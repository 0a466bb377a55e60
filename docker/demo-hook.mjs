/* global process, console */
/**
 * A tiny registration hook for the docker-compose demo: the sidecar POSTs each REGISTER's digest fields
 * here, and this checks them against DEMO_USERS ("user:password,...") the way a real jambonz
 * registration hook does, answering {"status":"ok"} or {"status":"fail"}. No dependencies: plain Node.
 * Never log a password or a digest response.
 */
import http from 'node:http';
import crypto from 'node:crypto';

const PORT = Number(process.env.PORT || 4000);
const USERS = new Map((process.env.DEMO_USERS || 'alice:alice-demo-pw,bob:bob-demo-pw')
  .split(',').map((entry) => entry.split(':')).filter((pair) => pair.length === 2));

function hash(algorithm, text) {
  const name = /^SHA-256/i.test(algorithm || '') ? 'sha256' : 'md5';
  return crypto.createHash(name).update(text).digest('hex');
}

/** RFC 2617/7616 digest check of the fields the sidecar forwards. */
function digestMatches(body, password) {
  const ha1 = hash(body.algorithm, `${body.username}:${body.realm}:${password}`);
  const ha2 = hash(body.algorithm, `${body.method || 'REGISTER'}:${body.uri}`);
  const expected = body.qop
    ? hash(body.algorithm, `${ha1}:${body.nonce}:${body.nc}:${body.cnonce}:${body.qop}:${ha2}`)
    : hash(body.algorithm, `${ha1}:${body.nonce}:${ha2}`);
  return typeof body.response === 'string' && expected === body.response.toLowerCase();
}

function answer(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/auth') return answer(res, 404, { status: 'fail' });
  let raw = '';
  req.on('data', (chunk) => { raw += chunk; });
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      return answer(res, 400, { status: 'fail' });
    }
    const password = USERS.get(body.username);
    const ok = password !== undefined && digestMatches(body, password);
    console.log(`${ok ? 'granted' : 'refused'} ${body.username}@${body.realm} from ${body.source_address}:${body.source_port}`);
    answer(res, 200, ok ? { status: 'ok', expires: 300 } : { status: 'fail', msg: 'invalid credentials' });
  });
}).listen(PORT, () => console.log(`demo registration hook on :${PORT}/auth for ${[...USERS.keys()].join(', ')}`));
