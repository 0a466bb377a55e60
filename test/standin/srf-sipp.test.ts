/**
 * End to end: the real drachtio-srf client against the stand-in, with real sipp peers.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'tape';
import { SECRET, delay, freePort, withStandIn, withTimeout } from './helpers';
import { DrachtioStandIn } from '../support/drachtio';

// drachtio-srf ships no type declarations; the few members used here are typed below.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Srf = require('drachtio-srf') as SrfConstructor;

interface SrfResponse {
  status: number;
  get(name: string): string | undefined;
}
interface SrfRequest {
  on(event: 'response', listener: (res: SrfResponse) => void): void;
  method: string;
  get(name: string): string | undefined;
}
interface SrfResponder {
  send(status: number, opts?: object): void;
}
interface SrfInstance {
  connect(opts: { host: string; port: number; secret: string }): void;
  disconnect(): void;
  on(event: 'connect', listener: (err: Error | null, hostport: string) => void): void;
  on(event: 'close' | 'reconnecting' | 'error', listener: (...args: unknown[]) => void): void;
  options(handler: (req: SrfRequest, res: SrfResponder) => void): void;
  register(handler: (req: SrfRequest, res: SrfResponder) => void): void;
  request(uri: string, opts: object): Promise<SrfRequest>;
}
type SrfConstructor = new () => SrfInstance;

const SIPP = '/usr/bin/sipp';

/** Connects a drachtio-srf instance to the stand-in and waits for the authenticated 'connect'. */
async function connectSrf(standIn: DrachtioStandIn): Promise<SrfInstance> {
  const srf = new Srf();
  const connected = new Promise<string>((resolve, reject) => {
    srf.on('connect', (err, hostport) => (err ? reject(err) : resolve(hostport)));
  });
  srf.on('error', () => undefined);
  srf.connect({ host: '127.0.0.1', port: standIn.adminPort, secret: SECRET });
  await withTimeout(connected, 5000, 'drachtio-srf to connect');
  return srf;
}

/** Runs sipp to completion (bounded) and resolves with its exit code; its files go to a temp dir. */
async function runSipp(args: string[], ms = 20000): Promise<{ code: number | null; output: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'standin-sipp-'));
  const child = spawn(SIPP, [...args, '-nostdin', '-trace_err'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  try {
    const code = await withTimeout(new Promise<number | null>((resolve) => child.on('exit', resolve)), ms, 'sipp to exit');
    for (const f of fs.readdirSync(dir)) if (f.endsWith('errors.log')) output += fs.readFileSync(path.join(dir, f), 'utf8');
    return { code, output };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function scenarioFile(name: string, xml: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'standin-scenario-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, xml);
  return file;
}

const OPTIONS_UAC = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="options-uac">
  <send>
    <![CDATA[
      OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      User-Agent: sipp-smoke
      Content-Length: 0

    ]]>
  </send>
  <recv response="200">
    <action>
      <ereg regexp="X-Standin: yes" search_in="msg" check_it="true" assign_to="hdr"/>
    </action>
  </recv>
  <Reference variables="hdr"/>
</scenario>
`;

/** A phone that registers with digest credentials when challenged. */
const REGISTER_UAC = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register-uac-digest">
  <send retrans="500">
    <![CDATA[
      REGISTER sip:sipp.test SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:alice@sipp.test>;tag=[pid]SIPpTag00[call_number]
      To: <sip:alice@sipp.test>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:alice@[local_ip]:[local_port];transport=[transport]>
      Expires: 3600
      Max-Forwards: 70
      User-Agent: sipp-reg
      Content-Length: 0

    ]]>
  </send>
  <recv response="401" auth="true"/>
  <send retrans="500">
    <![CDATA[
      REGISTER sip:sipp.test SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:alice@sipp.test>;tag=[pid]SIPpTag00[call_number]
      To: <sip:alice@sipp.test>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:alice@[local_ip]:[local_port];transport=[transport]>
      [authentication username=alice password=s3cret]
      Expires: 3600
      Max-Forwards: 70
      User-Agent: sipp-reg
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
`;

/** A registrar that challenges with 401 and checks the digest with sipp's verifyauth. */
const REGISTER_UAS = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register-uas-digest">
  <recv request="REGISTER"/>
  <send>
    <![CDATA[
      SIP/2.0 401 Unauthorized
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      WWW-Authenticate: Digest realm="sipp.test", nonce="4b1d2f3e5a6c7d8e", qop="auth", algorithm=MD5, opaque="op42"
      Content-Length: 0

    ]]>
  </send>
  <recv request="REGISTER">
    <action>
      <verifyauth assign_to="authvalid" username="alice" password="s3cret"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="goodauth"/>
  <send next="done">
    <![CDATA[
      SIP/2.0 403 Forbidden
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <label id="goodauth"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:alice@127.0.0.1>;expires=3600
      Content-Length: 0

    ]]>
  </send>
  <label id="done"/>
</scenario>
`;

for (const transport of ['u1', 't1']) {
  test(`e2e: sipp OPTIONS over ${transport === 'u1' ? 'UDP' : 'TCP'} answered by a drachtio-srf app through the stand-in`, async (t) => {
    const scenario = scenarioFile('options-uac.xml', OPTIONS_UAC);
    await withStandIn({}, async (s) => {
      const srf = await connectSrf(s);
      const seen: string[] = [];
      srf.options((req, res) => {
        seen.push(req.get('User-Agent') ?? '');
        res.send(200, { headers: { Allow: 'INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER', 'X-Standin': 'yes' } });
      });
      await delay(100); // let the route command reach the stand-in
      try {
        const port = await freePort();
        const result = await runSipp([`127.0.0.1:${s.sipPort}`, '-sf', scenario, '-m', '1', '-timeout', '10s', '-t', transport,
          '-i', '127.0.0.1', '-p', String(port)]);
        t.equal(result.code, 0, `sipp exit code 0${result.code ? `\n${result.output}` : ''}`);
        t.deepEqual(seen, ['sipp-smoke'], 'the app handled exactly one OPTIONS');
      } finally {
        srf.disconnect();
        fs.rmSync(path.dirname(scenario), { recursive: true, force: true });
      }
    });
  });
}

for (const transport of ['u1', 't1']) {
  test(`e2e: sipp REGISTER over ${transport === 'u1' ? 'UDP' : 'TCP'} challenged and accepted by a drachtio-srf app`, async (t) => {
    const scenario = scenarioFile('register-uac.xml', REGISTER_UAC);
    await withStandIn({}, async (s) => {
      const srf = await connectSrf(s);
      const seen: string[] = [];
      srf.register((req, res) => {
        const authorization = req.get('Authorization');
        seen.push(authorization ? 'with credentials' : 'without credentials');
        if (!authorization) {
          res.send(401, { headers: { 'WWW-Authenticate': 'Digest realm="sipp.test", nonce="bdf2ff8c139cc1ba", algorithm=MD5, qop="auth"' } });
        } else {
          res.send(200, { headers: { Contact: `${req.get('Contact')};expires=3600`, Expires: '3600' } });
        }
      });
      await delay(100);
      try {
        const port = await freePort();
        const result = await runSipp([`127.0.0.1:${s.sipPort}`, '-sf', scenario, '-m', '1', '-timeout', '10s', '-t', transport,
          '-i', '127.0.0.1', '-p', String(port)]);
        t.equal(result.code, 0, `sipp exit code 0${result.code ? `\n${result.output}` : ''}`);
        t.deepEqual(seen, ['without credentials', 'with credentials'], 'the app challenged, then accepted the retry');
      } finally {
        srf.disconnect();
        fs.rmSync(path.dirname(scenario), { recursive: true, force: true });
      }
    });
  });
}

for (const transport of ['u1', 't1']) {
  test(`e2e: drachtio-srf UAC REGISTER with digest retry through the stand-in to a sipp registrar over ${transport === 'u1' ? 'UDP' : 'TCP'}`, async (t) => {
    const scenario = scenarioFile('register-uas.xml', REGISTER_UAS);
    await withStandIn({}, async (s) => {
      const srf = await connectSrf(s);
      const port = await freePort();
      try {
        const sipp = runSipp(['-sf', scenario, '-m', '1', '-timeout', '15s', '-t', transport, '-i', '127.0.0.1', '-p', String(port)]);
        await delay(300); // sipp binds its port
        const proxy = `sip:127.0.0.1:${port}${transport === 't1' ? ';transport=tcp' : ''}`;
        const req = await srf.request('sip:sipp.test', {
          method: 'REGISTER',
          proxy,
          headers: { From: '<sip:alice@sipp.test>', To: '<sip:alice@sipp.test>', Contact: '<sip:alice@localhost>', Expires: '3600' },
          auth: { username: 'alice', password: 's3cret' },
        });
        const statuses: number[] = [];
        const final = await withTimeout(new Promise<SrfResponse>((resolve) => req.on('response', (res) => {
          statuses.push(res.status);
          if (res.status >= 200) resolve(res);
        })), 10000, 'the final response');
        t.equal(final.status, 200, 'digest accepted by sipp verifyauth');
        t.deepEqual(statuses, [200], 'the 401 was consumed by drachtio-srf, not emitted');
        const result = await sipp;
        t.equal(result.code, 0, `sipp exit code 0${result.code ? `\n${result.output}` : ''}`);
      } finally {
        srf.disconnect();
        fs.rmSync(path.dirname(scenario), { recursive: true, force: true });
      }
    });
  });
}

test('e2e: drachtio-srf sees the socket close on stop() and reconnects to a new stand-in on the same admin port', async (t) => {
  const first = new DrachtioStandIn({ secret: SECRET });
  await first.start();
  const adminPort = first.adminPort;
  const srf = await connectSrf(first);
  const reconnected = new Promise<void>((resolve) => srf.on('connect', (err) => { if (!err) resolve(); }));
  const closed = new Promise<void>((resolve) => srf.on('close', () => resolve()));
  await first.stop();
  await withTimeout(closed, 3000, 'srf to see the close');
  t.pass('srf saw the admin socket close');
  const second = new DrachtioStandIn({ secret: SECRET, adminPort });
  await second.start();
  try {
    await withTimeout(reconnected, 8000, 'srf to reconnect');
    t.equal(second.connectedApps(), 1, 'reconnected and authenticated');
  } finally {
    srf.disconnect();
    await second.stop();
  }
});
