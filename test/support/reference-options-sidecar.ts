/**
 * A stand-in for jambonz's sbc-sip-sidecar 0.9.7 as far as cluster membership goes, run as its own process
 * so a test can put it in one cluster (one Redis) with our service. It answers OPTIONS over UDP and keeps
 * `<cluster>:active-fs`, `:fs-service-url` and `:active-rtp` with their `<set>:lastseen` hashes the way the
 * reference does (facts from its lib/options.js and test/options-shared-expiry-test.js):
 *
 * - a status ping with `open` does HSET `<set>:lastseen` member now, then SISMEMBER and SADD when absent,
 *   then SMEMBERS for the count; any other status does HDEL, SREM, SMEMBERS; `X-FS-ServiceUrl` gets the
 *   same treatment in `:fs-service-url`. Separate commands, not a script: that is how the reference does it.
 * - the answer is `200` with `X-Members: <size of the fs or rtp set>`; an OPTIONS without a status header
 *   gets a plain `200`.
 * - every CHECK_EXPIRES_INTERVAL ms, for each of the three sets: HGETALL `<set>:lastseen`, and for each
 *   entry older than EXPIRES_INTERVAL ms, HDEL then SREM. Members without an entry are never expired.
 *
 * Not emulated: the trust check on the source network and drained feature servers (every source is
 * trusted, nothing is drained). Usage: `node dist/test/support/reference-options-sidecar.js` with
 * JAMBONES_REDIS_HOST/PORT/DB, JAMBONES_CLUSTER_ID, EXPIRES_INTERVAL, CHECK_EXPIRES_INTERVAL; it prints
 * `{"msg":"listening","port":<udp port>}` on 127.0.0.1. Tests use startReferenceOptionsSidecar().
 */
import dgram from 'node:dgram';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import Redis from 'ioredis';
import { testRedisEnv } from './test-redis';

interface ParsedRequest {
  method: string;
  headers: { name: string; value: string }[];
}

function parseRequest(text: string): ParsedRequest | undefined {
  const [head] = text.split('\r\n\r\n');
  const [first, ...lines] = head.split('\r\n');
  const method = /^([A-Z]+) \S+ SIP\/2\.0$/.exec(first)?.[1];
  if (!method) return undefined;
  const headers = lines.map((line) => ({ name: line.slice(0, line.indexOf(':')).trim(), value: line.slice(line.indexOf(':') + 1).trim() }));
  return { method, headers };
}

function header(req: ParsedRequest, name: string): string | undefined {
  return req.headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
}

function response200(req: ParsedRequest, extra: string[]): string {
  const copied = req.headers.filter((h) => ['via', 'from', 'call-id', 'cseq'].includes(h.name.toLowerCase()));
  const to = header(req, 'To') ?? '';
  return [
    'SIP/2.0 200 OK',
    ...copied.map((h) => `${h.name}: ${h.value}`),
    `To: ${to.includes(';tag=') ? to : `${to};tag=${crypto.randomBytes(4).toString('hex')}`}`,
    ...extra,
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
}

async function main(): Promise<void> {
  const env = process.env;
  const cluster = env.JAMBONES_CLUSTER_ID || 'default';
  const expires = Number(env.EXPIRES_INTERVAL || 60000);
  const check = Number(env.CHECK_EXPIRES_INTERVAL || 20000);
  const redis = new Redis({ host: env.JAMBONES_REDIS_HOST, port: Number(env.JAMBONES_REDIS_PORT), db: Number(env.JAMBONES_REDIS_DB ?? 0) });
  const setFs = `${cluster}:active-fs`;
  const setRtp = `${cluster}:active-rtp`;
  const setUrls = `${cluster}:fs-service-url`;
  const lastSeen = (set: string) => `${set}:lastseen`;

  const addToCache = async (status: string | undefined, set: string, key: string): Promise<number> => {
    if (status === 'open') {
      await redis.hset(lastSeen(set), key, Date.now());
      if (!(await redis.sismember(set, key))) await redis.sadd(set, key);
    } else {
      await redis.hdel(lastSeen(set), key);
      await redis.srem(set, key);
    }
    return (await redis.smembers(set)).length;
  };

  const expireStale = async (set: string, now: number): Promise<void> => {
    for (const [key, ts] of Object.entries(await redis.hgetall(lastSeen(set)))) {
      if (now - Number(ts) > expires) {
        await redis.hdel(lastSeen(set), key);
        await redis.srem(set, key);
        console.log(JSON.stringify({ msg: 'expired', set, key }));
      }
    }
  };
  const sweep = setInterval(() => {
    const now = Date.now();
    void (async () => {
      for (const set of [setFs, setUrls, setRtp]) await expireStale(set, now);
    })().catch((err: Error) => console.log(JSON.stringify({ msg: 'sweep error', err: err.message })));
  }, check);

  const socket = dgram.createSocket('udp4');
  socket.on('message', (data, rinfo) => {
    const req = parseRequest(data.toString());
    if (!req || req.method !== 'OPTIONS') return;
    const fsStatus = header(req, 'X-FS-Status');
    const rtpStatus = header(req, 'X-RTP-Status');
    const reply = (extra: string[]) => socket.send(response200(req, extra), rinfo.port, rinfo.address);
    if (fsStatus === undefined && rtpStatus === undefined) {
      reply([]);
      return;
    }
    void (async () => {
      const isRtp = fsStatus === undefined;
      const key = isRtp ? rinfo.address : `${rinfo.address}:${rinfo.port}`;
      const count = await addToCache(isRtp ? rtpStatus : fsStatus, isRtp ? setRtp : setFs, key);
      const url = isRtp ? undefined : header(req, 'X-FS-ServiceUrl');
      if (url) await addToCache(fsStatus, setUrls, url);
      reply([`X-Members: ${count}`]);
    })().catch((err: Error) => console.log(JSON.stringify({ msg: 'options error', err: err.message })));
  });
  await new Promise<void>((resolve) => socket.bind(Number(env.SIP_PORT || 0), '127.0.0.1', resolve));
  console.log(JSON.stringify({ msg: 'listening', port: socket.address().port }));
  process.on('SIGTERM', () => {
    clearInterval(sweep);
    socket.close();
    void redis.quit().finally(() => process.exit(0));
  });
}

export interface ReferenceOptionsSidecar {
  port: number;
  /** The `expired` lines it logged: `{ set, key }` for each member its sweep removed. */
  expired: { set: string; key: string }[];
  stop(): Promise<void>;
}

/** Starts the emulator as a child process on the test Redis; resolves once it listens. */
export function startReferenceOptionsSidecar(env: { cluster: string; expiresMs: number; checkMs: number }): Promise<ReferenceOptionsSidecar> {
  const proc = spawn(process.execPath, [__filename], {
    env: {
      PATH: process.env.PATH,
      ...testRedisEnv(),
      JAMBONES_CLUSTER_ID: env.cluster,
      EXPIRES_INTERVAL: String(env.expiresMs),
      CHECK_EXPIRES_INTERVAL: String(env.checkMs),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const expired: { set: string; key: string }[] = [];
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error('the reference emulator did not start within 10 s'));
    }, 10000);
    let partial = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const parsed = JSON.parse(line) as { msg: string; port?: number; set?: string; key?: string };
        if (parsed.msg === 'expired') expired.push({ set: String(parsed.set), key: String(parsed.key) });
        if (parsed.msg === 'listening') {
          clearTimeout(timer);
          resolve({
            port: Number(parsed.port),
            expired,
            stop: async () => {
              if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
              await exited;
            },
          });
        }
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the reference emulator exited (${code}) before listening`));
    });
  });
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(err);
    process.exit(1);
  });
}
