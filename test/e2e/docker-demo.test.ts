/**
 * The docker-compose demo, rehearsed without a Docker engine (none runs here): the same files the compose
 * stack mounts — db/schema.sql and docker/demo-seed.sql loaded into a fresh database with the compose MySQL
 * user, docker/demo-hook.mjs run with the compose environment, the sidecar started with exactly the compose
 * sidecar environment (only host names and ports mapped to this machine) — and a softphone registering with
 * the README's settings (alice / alice-demo-pw at sip.demo.test). What it cannot prove: the images build and
 * the containers reach each other by name; docker-consistency.test.ts checks those names statically.
 */
import test from 'tape';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, ChildProcess } from 'node:child_process';
import mysql from 'mysql2/promise';
import { parse } from 'yaml';
import { DrachtioStandIn } from '../support/drachtio';
import { startService, connectedToDrachtio, RunningService } from '../support/service';
import { expectSippSuccess, findFreePort, registerRun } from '../support/sipp';
import { repoRoot, schemaPath, testDbSettings, TEST_DB_NAME } from '../support/test-db';
import { createTestRedis, flushTestRedis, testRedisEnv } from '../support/test-redis';

interface ComposeService { environment?: Record<string, string> }

const root = repoRoot();
const compose = parse(fs.readFileSync(path.join(root, 'docker', 'docker-compose.yml'), 'utf8')) as
  { services: Record<string, ComposeService> };
const sidecarEnv = compose.services.sidecar.environment ?? {};
const mysqlEnv = compose.services.mysql.environment ?? {};
const hookEnv = compose.services['demo-hook'].environment ?? {};
/** Not the compose name `jambones`: a developer's own jambones database must survive the test. */
const DEMO_DB = `${TEST_DB_NAME}_demo`;
const DEMO_USER_HOSTS = ['%', 'localhost', '127.0.0.1'];

let standIn: DrachtioStandIn;
let hook: ChildProcess;
let service: RunningService;

function admin(): Promise<mysql.Connection> {
  return mysql.createConnection({ ...testDbSettings(), multipleStatements: true });
}

/** What the MySQL image does with MYSQL_DATABASE/USER/PASSWORD and docker-entrypoint-initdb.d, in order. */
async function initialiseDemoDatabase(hookUrl: string): Promise<void> {
  const conn = await admin();
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${DEMO_DB}\`; CREATE DATABASE \`${DEMO_DB}\``);
    for (const host of DEMO_USER_HOSTS) {
      await conn.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [mysqlEnv.MYSQL_USER, host, mysqlEnv.MYSQL_PASSWORD]);
      await conn.query(`GRANT ALL ON \`${DEMO_DB}\`.* TO ?@?`, [mysqlEnv.MYSQL_USER, host]);
    }
    await conn.changeUser({ database: DEMO_DB });
    await conn.query(fs.readFileSync(schemaPath(), 'utf8'));
    await conn.query(fs.readFileSync(path.join(root, 'docker', 'demo-seed.sql'), 'utf8'));
    // compose's network resolves demo-hook:4000; here the hook listens on a free local port
    await conn.query("UPDATE webhooks SET url = REPLACE(url, 'http://demo-hook:4000', ?)", [hookUrl]);
  } finally {
    await conn.end();
  }
}

async function dropDemoDatabase(): Promise<void> {
  const conn = await admin();
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${DEMO_DB}\``);
    for (const host of DEMO_USER_HOSTS) await conn.query('DROP USER IF EXISTS ?@?', [mysqlEnv.MYSQL_USER, host]);
  } finally {
    await conn.end();
  }
}

function startDemoHook(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(root, 'docker', 'demo-hook.mjs')], {
    env: { PATH: process.env.PATH, ...hookEnv, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`demo-hook exited (${code})`)));
    child.stdout?.once('data', () => resolve(child));
  });
}

/** The compose sidecar environment with its service host names and ports mapped to this machine. */
function rehearsalEnv(): Record<string, string> {
  const redis = testRedisEnv();
  return {
    ...sidecarEnv,
    DRACHTIO_HOST: '127.0.0.1',
    DRACHTIO_PORT: String(standIn.adminPort),
    JAMBONES_MYSQL_HOST: testDbSettings().host,
    JAMBONES_MYSQL_PORT: String(testDbSettings().port),
    JAMBONES_MYSQL_DATABASE: DEMO_DB,
    JAMBONES_REDIS_HOST: redis.JAMBONES_REDIS_HOST,
    JAMBONES_REDIS_PORT: redis.JAMBONES_REDIS_PORT,
    JAMBONES_REDIS_DB: redis.JAMBONES_REDIS_DB,
    JAMBONES_TIME_SERIES_HOST: '127.0.0.1',
    HTTP_PORT: '0',
  };
}

test('docker demo: schema, demo seed, demo hook and the compose sidecar environment come up', async (t) => {
  const redis = createTestRedis();
  await flushTestRedis(redis);
  await redis.quit();
  const hookPort = await findFreePort();
  hook = await startDemoHook(hookPort);
  await initialiseDemoDatabase(`http://127.0.0.1:${hookPort}`);
  standIn = new DrachtioStandIn({ secret: sidecarEnv.DRACHTIO_SECRET });
  await standIn.start();
  service = startService(rehearsalEnv());
  await service.waitForLog(connectedToDrachtio, 15000);
  t.equal(sidecarEnv.JAMBONES_MYSQL_USER, mysqlEnv.MYSQL_USER, 'the sidecar logs in as the MySQL user the image creates');
  t.pass('sidecar connected to drachtio with the compose environment');
});

test('docker demo: a softphone with the README settings registers; a wrong password is refused', async (t) => {
  const target = `127.0.0.1:${standIn.sipPort}`;
  await expectSippSuccess(t, registerRun('register-auth', {
    target, devices: { user: 'alice', password: 'alice-demo-pw', domain: 'sip.demo.test' }, expectExpires: 'any',
  }), 'alice / alice-demo-pw @ sip.demo.test → 401 then 200');
  await expectSippSuccess(t, registerRun('register-auth-fail', {
    target, devices: { user: 'bob', password: 'not-bobs-password', domain: 'sip.demo.test' },
  }), 'bob with a wrong password → 403');
  const outcome = await service.waitForLog((line) => line.msg === 'register outcome' && line.status === 200, 3000);
  t.equal(outcome.aor, 'alice@sip.demo.test', 'the outcome line names the AoR');
});

test('docker demo: tear-down', async (t) => {
  const exit = await service.stop();
  t.equal(exit.code, 0, 'sidecar exits 0 on SIGTERM');
  hook.kill();
  await standIn.stop();
  await dropDemoDatabase();
});
