/**
 * What the operator API and page tests start from: the registrar bed (drachtio stand-in, hook, MySQL, Redis)
 * with two accounts whose hook grants a call hook that has credentials, a carrier played by sipp that
 * regbot registers to, and the built service with HTTP_API_TOKEN. Devices register with sipp; a source is
 * banned by failing authentication from it with sipp.
 */
import type { Test } from 'tape';
import { createRegistrarBed, RegistrarBed, scenarioWith } from './registrar-bed';
import { expectSippSuccess, findFreePort, registerRun, responderScenario, startSippServer, SippServer } from './sipp';
import type { RunningService, ServiceLogLine } from './service';
import { oneShotScenario } from './sip-requests';

export const API_TOKEN = 'operator-test-token-6f1d2c9a8b';
export const CLUSTER = 'operator-test';
export const REALM = 'ops-api.example.com';
export const OTHER_REALM = 'other-api.example.com';
/** Secrets that must never appear in an API reply or the page. */
export const DEVICE_PASSWORD = 'device-pw-3a7c1e';
export const HOOK_PASSWORD = 'hook-basic-pw-91bd';
export const CALL_HOOK_PASSWORD = 'call-hook-pw-55e0';
export const CALL_HOOK_QUERY_SECRET = 'query-key-0c4f';
export const CARRIER_PASSWORD = 'carrier-pw-7d2a';
export const SECRETS = [DEVICE_PASSWORD, HOOK_PASSWORD, CALL_HOOK_PASSWORD, CALL_HOOK_QUERY_SECRET, CARRIER_PASSWORD, API_TOKEN];
/** Failed authentications from one source that ban it in this bed. */
export const FAILURES_TO_BAN = 2;

export interface OperatorBed {
  bed: RegistrarBed;
  service: RunningService;
  httpPort: number;
  carrier: { sipp: SippServer; carrierSid: string; gatewaySid: string };
  close(): Promise<void>;
}

export const opsListening = (line: ServiceLogLine): boolean => line.msg === 'ops http server listening (/health, /ready, /metrics)';

export async function startOperatorBed(env: Record<string, string> = {}): Promise<OperatorBed> {
  const bed = await createRegistrarBed();
  const hook = { url: bed.hook.url('/auth'), method: 'POST' as const, username: 'hookuser', password: HOOK_PASSWORD };
  await bed.db.seedAccount({ sip_realm: REALM, registration_hook: hook });
  await bed.db.seedAccount({ sip_realm: OTHER_REALM, registration_hook: hook });
  bed.hook.respondWith((req) => {
    const username = (req.json as { username?: string } | undefined)?.username ?? '';
    if (username.startsWith('mallory')) return { body: { status: 'fail', message: 'wrong password' } };
    return { body: {
      status: 'ok',
      call_hook: { url: `https://calls.example.com/hook?key=${CALL_HOOK_QUERY_SECRET}`, method: 'post', username: 'cu', password: CALL_HOOK_PASSWORD },
      allow_direct_user_calling: true,
    } };
  });
  const carrier = await startCarrier(bed);
  const httpPort = await findFreePort();
  const service = await bed.startService({
    HTTP_PORT: String(httpPort),
    HTTP_API_TOKEN: API_TOKEN,
    JAMBONES_CLUSTER_ID: CLUSTER,
    JAMBONES_NETWORK_CIDR: '127.0.0.0/8',
    REGBOT_RELOAD_INTERVAL_MS: '300',
    REGBOT_LEASE_TTL_MS: '3000',
    REGISTRAR_AUTH_FAILURES_PER_SOURCE: String(FAILURES_TO_BAN),
    REGISTRAR_BAN_SECONDS: '600',
    ...env,
  });
  await service.waitForLog(opsListening, 5000);
  await service.waitForLog((l) => l.msg === 'regbot: registered' && l.gatewaySid === carrier.gatewaySid, 15000);
  return {
    bed, service, httpPort, carrier,
    async close() {
      await carrier.sipp.stop();
      await bed.close();
    },
  };
}

/** A carrier answering every REGISTER 200 (sipp), and its MySQL rows. */
async function startCarrier(bed: RegistrarBed): Promise<OperatorBed['carrier']> {
  const port = await findFreePort();
  const sipp = startSippServer({ scenario: responderScenario({ code: 200, reason: 'OK' }), localPort: port, timeoutSec: 120 });
  await sipp.ready;
  const carrierSid = await bed.db.seedCarrier({
    name: 'Acme Carrier', requires_register: 1, register_username: 'trunk', register_password: CARRIER_PASSWORD,
    register_sip_realm: 'carrier.example.com',
  });
  const gatewaySid = await bed.db.seedGateway({ voip_carrier_sid: carrierSid, ipv4: '127.0.0.1', port, protocol: 'udp' });
  return { sipp, carrierSid, gatewaySid };
}

export interface DeviceOptions {
  /** The REGISTER's User-Agent (the packaged scenario sends `sipp-test`). */
  userAgent?: string;
  /** The address sipp sends from. */
  localIp?: string;
}

/** Registers each user@realm with sipp (401 challenge, then 200), one device each. */
export async function registerDevices(t: Test, bed: RegistrarBed, devices: { user: string; domain: string }[],
  options: DeviceOptions = {}): Promise<void> {
  const run = registerRun('register-auth', {
    target: bed.target,
    devices: devices.map((d) => ({ ...d, password: DEVICE_PASSWORD })),
    localPort: await findFreePort(options.localIp),
    localIp: options.localIp,
  });
  if (options.userAgent) run.scenario = scenarioWith('register-auth', [['User-Agent: sipp-test', `User-Agent: ${options.userAgent}`]]);
  await expectSippSuccess(t, run, `${devices.map((d) => `${d.user}@${d.domain}`).join(', ')} register`);
}

/** Fails authentication from `ip` until it is banned (the hook refuses every `mallory*`). */
export async function banSource(t: Test, bed: RegistrarBed, ip: string): Promise<void> {
  const devices = Array.from({ length: FAILURES_TO_BAN }, (_, i) => ({ user: `mallory${i}`, password: 'guess', domain: REALM }));
  await expectSippSuccess(t, registerRun('register-auth-fail', {
    target: bed.target, devices, localIp: ip, localPort: await findFreePort(ip),
  }), `${FAILURES_TO_BAN} failed authentications from ${ip}`);
}

export interface ApiReply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

/** One request to the service's HTTP port, with `Authorization: Bearer <token>` unless token is null. */
export async function apiRequest(port: number, path: string, options: { method?: string; token?: string | null } = {}): Promise<ApiReply> {
  const token = options.token === undefined ? API_TOKEN : options.token;
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: options.method ?? 'GET',
    headers: token === null ? {} : { Authorization: `Bearer ${token}` },
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A feature server at `ip` checks in with OPTIONS `X-FS-Status: open` (sipp), joining `<cluster>:active-fs`. */
export async function featureServerCheckIn(t: Test, bed: RegistrarBed, ip: string): Promise<number> {
  const port = await findFreePort(ip);
  await expectSippSuccess(t, {
    scenario: oneShotScenario({ method: 'OPTIONS', requestUri: 'sip:[remote_ip]:[remote_port]', headers: ['X-FS-Status: open'], expect: 200 }),
    target: bed.target, localIp: ip, localPort: port,
  }, `feature server ${ip} checks in`);
  return port;
}
