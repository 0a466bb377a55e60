/**
 * Inline sipp scenarios for one request and its final answer, for the requests the packaged scenarios
 * cannot express (no Contact, a broken To, a wildcard Contact...).
 */
export interface OneShotOptions {
  method?: string;
  requestUri: string;
  /** Header lines after Call-ID/CSeq (From, To, Via, Call-ID and CSeq are provided unless given here). */
  headers: string[];
  expect: number;
  from?: string;
  to?: string;
}

export function oneShotScenario(opts: OneShotOptions): string {
  const method = opts.method ?? 'REGISTER';
  const lines = [
    `${method} ${opts.requestUri} SIP/2.0`,
    'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]',
    ...(opts.from === '' ? [] : [`From: ${opts.from ?? '<sip:sipp@example.com>'};tag=[pid]SIPpTag00[call_number]`]),
    ...(opts.to === '' ? [] : [`To: ${opts.to ?? '<sip:sipp@example.com>'}`]),
    'Call-ID: [call_id]',
    `CSeq: 1 ${method}`,
    'Max-Forwards: 70',
    ...opts.headers,
    'Content-Length: 0',
  ];
  return [
    '<?xml version="1.0" encoding="ISO-8859-1" ?>',
    '<scenario name="one-shot">',
    '  <send retrans="500"><![CDATA[',
    ...lines.map((line) => `      ${line}`),
    '',
    '  ]]></send>',
    '  <recv response="100" optional="true"/>',
    `  <recv response="${opts.expect}"/>`,
    '</scenario>',
    '',
  ].join('\n');
}

/**
 * REGISTER, 401, REGISTER with credentials, 200, then a refresh on the same Call-ID and socket with no
 * credentials, which must be answered 200 straight away (the refresh fast path).
 */
export function registerThenRefreshScenario(contact = '<sip:[field0]@[local_ip]:[local_port];transport=[transport]>'): string {
  const request = (cseq: number, auth: boolean) => [
    '  <send retrans="500"><![CDATA[',
    '      REGISTER sip:[field2] SIP/2.0',
    '      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]',
    '      From: <sip:[field0]@[field2]>;tag=[pid]SIPpTag00[call_number]',
    '      To: <sip:[field0]@[field2]>',
    '      Call-ID: [call_id]',
    `      CSeq: ${cseq} REGISTER`,
    '      Max-Forwards: 70',
    `      Contact: ${contact}`,
    '      Expires: 3600',
    ...(auth ? ['      [authentication username="[field0]" password="[field1]"]'] : []),
    '      Content-Length: 0',
    '',
    '  ]]></send>',
  ];
  return [
    '<?xml version="1.0" encoding="ISO-8859-1" ?>',
    '<scenario name="register-then-refresh">',
    ...request(1, false),
    '  <recv response="401" auth="true"/>',
    ...request(2, true),
    '  <recv response="200"/>',
    ...request(3, false),
    '  <recv response="200"/>',
    '</scenario>',
    '',
  ].join('\n');
}
