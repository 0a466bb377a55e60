/**
 * sipp scenarios for the benchmark: [field0] user, [field1] realm.
 *
 * sipp sends every call from one socket, and the 2,000 users come round again and again in a run: with one
 * Contact per user, a user's next call would be a refresh of its live binding from the same address:port,
 * answered 200 without a challenge whatever its Call-ID (the fast path), where the scenarios expect a 401.
 * So each call's Contact carries its call number (another Contact: a full registration), and a
 * `+sip.instance` per user keeps it one binding per user, updated in place as a returning device's is.
 */
export const REFRESHES_PER_CALL = 10;

function register(cseq: number, extra: string[] = [], attrs = '', contactParams = ';call=[call_number]'): string {
  return `  <send retrans="500"${attrs}><![CDATA[
      REGISTER sip:[field1] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[field1]>;tag=[call_number]
      To: <sip:[field0]@[field1]>
      Call-ID: [call_id]
      CSeq: ${cseq} REGISTER
      Max-Forwards: 70
      Contact: <sip:[field0]@[local_ip]:[local_port]${contactParams}>;+sip.instance="<urn:bench:[field0]>"
      Expires: 3600
${extra.map((line) => `      ${line}`).join('\n')}
      Content-Length: 0

  ]]></send>`;
}

function wrap(name: string, body: string[]): string {
  return ['<?xml version="1.0" encoding="ISO-8859-1" ?>', `<scenario name="${name}">`, ...body, '</scenario>', ''].join('\n');
}

export function authScenario(): string {
  return wrap('bench-auth', [
    register(1, [], ' start_rtd="1"'),
    '  <recv response="401" auth="true"/>',
    register(2, ['[authentication username="[field0]" password="pw"]']),
    '  <recv response="200" rtd="1"/>',
  ]);
}

export function refreshScenario(): string {
  const refreshes: string[] = [];
  for (let i = 0; i < REFRESHES_PER_CALL; i++) refreshes.push(register(3 + i), '  <recv response="200"/>');
  return wrap('bench-refresh', [
    register(1),
    '  <recv response="401" auth="true"/>',
    register(2, ['[authentication username="[field0]" password="pw"]']),
    '  <recv response="200"/>',
    ...refreshes,
  ]);
}

export function optionsScenario(): string {
  return wrap('bench-options', [`  <send retrans="500"><![CDATA[
      OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:ping@[local_ip]:[local_port]>;tag=[call_number]
      To: <sip:[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>`, '  <recv response="200"/>']);
}

/**
 * Registers every user once with a Contact of the user's own (no call number), from sipp's fixed port, so
 * that refreshOnlyScenario can refresh those bindings.
 */
export function primeScenario(): string {
  return wrap('bench-prime', [
    register(1, [], '', ''),
    '  <recv response="401" auth="true"/>',
    register(2, ['[authentication username="[field0]" password="pw"]'], '', ''),
    '  <recv response="200"/>',
  ]);
}

/** One refresh of a binding primeScenario made: same address:port, same Contact, a new Call-ID; 200 expected. */
export function refreshOnlyScenario(): string {
  return wrap('bench-refresh-only', [register(3, [], '', ''), '  <recv response="200"/>']);
}
