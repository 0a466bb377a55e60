/**
 * The sipp runner and the shared scenarios, with real sipp on both ends: sipp's built-in UAS answers
 * OPTIONS with -aa, and uas-register-auth.xml / responderScenario() stand in for a registrar.
 */
import test from 'tape';
import {
  expectSippSuccess,
  findFreePort,
  headerOf,
  headersOf,
  optionsRun,
  parseMessageTrace,
  receivedMessages,
  receivedResponses,
  registerRun,
  responderScenario,
  runSipp,
  scenarioPath,
  sentMessages,
  startSippServer,
  statusOf,
  SippServerOptions,
} from '../support/sipp';

async function withServer<T>(opts: Omit<SippServerOptions, 'localPort'>, fn: (target: string) => Promise<T>): Promise<T> {
  const port = await findFreePort();
  const server = startSippServer({ localIp: '127.0.0.1', ...opts, localPort: port });
  await server.ready;
  try {
    return await fn(`127.0.0.1:${port}`);
  } finally {
    await server.stop();
  }
}

const OPTIONS_UAS: Omit<SippServerOptions, 'localPort'> = { scenario: 'builtin:uas', extraArgs: ['-aa'] };

test('support-sipp: an OPTIONS UAC against sipp -sn uas -aa succeeds with parsed stats and trace', async (t) => {
  await withServer(OPTIONS_UAS, async (target) => {
    const result = await expectSippSuccess(
      t,
      optionsRun({ target, localIp: '127.0.0.1', extraHeaders: { 'X-FS-Status': 'open', 'X-FS-ServiceUrl': 'http://x:3000' } }),
      'options-uac',
    );
    t.equal(result.exitCode, 0);
    t.deepEqual([result.stats.successful, result.stats.failed, result.stats.created], [1, 0, 1], 'stats from -trace_stat');
    t.equal(result.stats.raw['SuccessfulCall(C)'], '1');
    const [sent] = sentMessages(result);
    t.match(sent, /^OPTIONS sip:127\.0\.0\.1:\d+ SIP\/2\.0\r\n/, 'the request as sent');
    t.equal(headerOf(sent, 'X-FS-Status'), 'open', 'first extra header');
    t.equal(headerOf(sent, 'x-fs-serviceurl'), 'http://x:3000', 'second extra header, case-insensitive lookup');
    const received = receivedMessages(result);
    t.equal(received.length, 1);
    t.equal(statusOf(received[0]), 200);
    t.equal(headerOf(received[0], 'CSeq'), '1 OPTIONS');
    t.equal(result.errors, '', 'no error log');
  });
});

test('support-sipp: a failing scenario returns non-zero with the error text', async (t) => {
  await withServer(OPTIONS_UAS, async (target) => {
    const expect404 = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="expects 404">
  <send retrans="500"><![CDATA[
      OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:sipp@[local_ip]:[local_port]>;tag=[call_number]
      To: <sip:[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Content-Length: 0

  ]]></send>
  <recv response="404"/>
</scenario>`;
    const result = await runSipp({ scenario: expect404, target, localIp: '127.0.0.1' });
    t.equal(result.exitCode, 1, 'exit code 1: a call failed');
    t.equal(result.stats.failed, 1);
    t.equal(result.stats.failedUnexpectedMessage, 1);
    t.match(result.errors, /Aborting call on unexpected message .*while expecting '404'/, 'error log says why');
    t.deepEqual(receivedResponses(result).map(statusOf), [200], 'the unexpected 200 is in the trace once');
    t.equal(sentMessages(result).filter((m) => m.startsWith('BYE')).length, 0, 'no BYE sent for the aborted call');
  });
});

test('support-sipp: a scenario sipp refuses, and an unreachable target, fail fast', async (t) => {
  const missingKey = await runSipp({ ...optionsRun({ target: '127.0.0.1:9' }), keys: { from_user: 'x' } });
  t.notEqual(missingKey.exitCode, 0);
  t.match(missingKey.stderr, /Unsupported keyword 'extra_headers'/);

  const port = await findFreePort();
  const silent = await runSipp({ ...optionsRun({ target: `127.0.0.1:${port}`, localIp: '127.0.0.1' }), timeoutSec: 2 });
  t.equal(silent.exitCode, 255, '-timeout_error makes the global timeout a failure');
  t.ok(silent.timedOut, 'reported as timed out');
  t.ok(silent.durationMs < 4000, `bounded by -timeout (${silent.durationMs} ms)`);
});

test('support-sipp: register scenarios against a digest-checking registrar', async (t) => {
  const uas = { scenario: scenarioPath('uas-register-auth'), keys: { realm: 'example.com', user: 'john', password: '1234', grant_expires: '600' } };
  await withServer(uas, async (target) => {
    const device = { user: 'john', password: '1234', domain: 'example.com' };
    const ok = await expectSippSuccess(t, registerRun('register-auth', { target, localIp: '127.0.0.1', devices: device, expectExpires: 600 }), 'register-auth');
    const sent = sentMessages(ok);
    t.equal(sent.length, 2, 'REGISTER, then REGISTER with credentials');
    t.match(headerOf(sent[1], 'Authorization') ?? '', /^Digest username="john",realm="example.com",uri="sip:127\.0\.0\.1:\d+"/, 'quoted digest fields');
    t.equal(headerOf(sent[0], 'Expires'), '3600');
    t.equal(headerOf(sent[0], 'To'), '<sip:john@example.com>');
    t.match(ok.logs, /200 OK: Expires: 600 \(expected 600\)/, 'the 200 was checked');

    const wrongExpires = await runSipp(registerRun('register-auth', { target, localIp: '127.0.0.1', devices: device, expectExpires: 30 }));
    t.equal(wrongExpires.exitCode, 1, 'an unexpected Expires fails the run');
    t.match(wrongExpires.logs, /MISMATCH: expected Expires 30 but got 600/);

    const denied = await expectSippSuccess(
      t,
      registerRun('register-auth-fail', { target, localIp: '127.0.0.1', devices: { ...device, password: 'wrong' } }),
      'register-auth-fail',
    );
    t.deepEqual(receivedResponses(denied).map(statusOf), [401, 403]);

    const notDenied = await runSipp(registerRun('register-auth-fail', { target, localIp: '127.0.0.1', devices: device }));
    t.equal(notDenied.exitCode, 1, 'register-auth-fail fails when the registrar accepts');
    t.match(notDenied.logs, /expected a 403 final response but got 200/);
  });
});

test('support-sipp: register-noauth over TCP with several devices, params and headers', async (t) => {
  const responder = { scenario: responderScenario({ code: 403, reason: 'Forbidden', headers: { 'X-Reason': 'Account has been deactivated' } }), transport: 't1' as const };
  await withServer(responder, async (target) => {
    const devices = [
      { user: 'a', domain: 'example.com' },
      { user: 'b', domain: 'example.com', requestUriHost: '192.168.1.1' },
    ];
    const run = registerRun('register-noauth', {
      target,
      transport: 't1',
      localIp: '127.0.0.1',
      devices,
      expect: 403,
      expires: null,
      contactParams: ';expires=60',
    });
    const result = await expectSippSuccess(t, run, 'register-noauth expecting 403');
    t.equal(result.stats.successful, 2, 'one call per device');
    const sent = sentMessages(result);
    t.deepEqual(sent.map((m) => m.split('\r\n')[0]), ['REGISTER sip:example.com SIP/2.0', 'REGISTER sip:192.168.1.1 SIP/2.0']);
    t.equal(headerOf(sent[0], 'Expires'), undefined, 'no Expires header');
    t.match(headerOf(sent[0], 'Contact') ?? '', /^<sip:a@127\.0\.0\.1:\d+;transport=TCP>;expires=60$/);
    t.deepEqual(receivedMessages(result).map((m) => headerOf(m, 'X-Reason')), ['Account has been deactivated', 'Account has been deactivated']);

    const wrong = await runSipp({ ...run, keys: { ...run.keys, expect: '200' } });
    t.equal(wrong.exitCode, 1, 'a different final code fails the run');
    t.match(wrong.logs, /expected a 200 final response but got 403/);
  });
});

test('support-sipp: trace parsing and header helpers', (t) => {
  const trace = [
    '----------------------------------------------- 2026-01-01 10:00:00.000001',
    'UDP message sent (10 bytes):',
    '',
    'OPTIONS sip:a SIP/2.0\r',
    'Call-ID: 1\r',
    '\r',
    '',
    '----------------------------------------------- 2026-01-01 10:00:00.000002',
    'TCP message received [10] bytes :',
    '',
    'SIP/2.0 200 OK\r',
    'v: SIP/2.0/TCP 1.2.3.4\r',
    'X-Long: one\r',
    '  two\r',
    'm: <sip:x@y>\r',
    'Contact: <sip:z@y>\r',
    'Content-Length: 4\r',
    '\r',
    'Body: not a header\r',
    '',
    '-----------------------------------------------',
    'Unexpected TCP message received:',
    '',
    'SIP/2.0 200 OK',
    '',
  ].join('\n');
  const parsed = parseMessageTrace(trace);
  t.deepEqual(parsed.map((m) => [m.direction, m.transport, m.time]), [
    ['sent', 'UDP', '2026-01-01 10:00:00.000001'],
    ['received', 'TCP', '2026-01-01 10:00:00.000002'],
  ], 'the undated "Unexpected" repeat is skipped');
  const [msg] = receivedMessages(trace);
  t.equal(statusOf(msg), 200);
  t.equal(statusOf(sentMessages(trace)[0]), undefined, 'requests have no status');
  t.equal(headerOf(msg, 'Via'), 'SIP/2.0/TCP 1.2.3.4', 'compact form');
  t.equal(headerOf(msg, 'x-long'), 'one two', 'folded line');
  t.deepEqual(headersOf(msg, 'Contact'), ['<sip:x@y>', '<sip:z@y>'], 'every value');
  t.equal(headerOf(msg, 'Body'), undefined, 'the body is not headers');
  t.end();
});
