/**
 * AWS_LIFECYCLE_DRAIN's trigger against a local IMDSv2 (test/support/imds-server.ts): the token is fetched
 * with PUT and presented on the GET, `Terminated` fires the drain once, any other state or an IMDS that
 * cannot be read does not, and a token never shows in what the client returns.
 */
import test from 'tape';
import pino from 'pino';
import { ImdsClient } from '../../lib/net/imds-client';
import { watchScaleIn, LIFECYCLE_STATE_ITEM } from '../../lib/ops/scale-in-watcher';
import { LocalImds } from '../support/imds-server';

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; !check() && Date.now() < deadline;) await sleep(10);
  return check();
}

test('imds client: PUT for a token, then GET with it', async (t) => {
  const imds = new LocalImds();
  await imds.start();
  const read = await new ImdsClient(imds.endpoint).read(LIFECYCLE_STATE_ITEM);
  t.deepEqual(read, { ok: true, value: 'InService' });
  const [put, get] = imds.requests;
  t.equal(put.method, 'PUT');
  t.equal(put.path, '/latest/api/token');
  t.equal(put.headers['x-aws-ec2-metadata-token-ttl-seconds'], '60', 'token TTL 60 s (the reference asks the same)');
  t.equal(get.method, 'GET');
  t.equal(get.path, '/latest/meta-data/autoscaling/target-lifecycle-state');
  t.equal(get.status, 200, 'the token was accepted');
  imds.lifecycleState = undefined;
  const missing = await new ImdsClient(imds.endpoint).read(LIFECYCLE_STATE_ITEM);
  t.deepEqual(missing.ok ? undefined : missing.status, 404, 'not in an Auto Scaling group: 404, not an error thrown');
  const token = imds.requests[3]?.headers['x-aws-ec2-metadata-token'];
  t.ok(typeof token === 'string' && !JSON.stringify(missing).includes(token), 'the token is not in the result');
  const endpoint = imds.endpoint;
  await imds.stop();
  const gone = await new ImdsClient(endpoint, 300).read(LIFECYCLE_STATE_ITEM);
  t.equal(gone.ok, false, 'IMDS unreachable: a failed read, no exception');
});

test('scale-in watch: fires once on Terminated, not before, and stops polling', async (t) => {
  const imds = new LocalImds();
  await imds.start();
  let fired = 0;
  const watcher = watchScaleIn(new ImdsClient(imds.endpoint), 40, silent, () => { fired++; });
  t.ok(await until(() => imds.stateReads >= 1, 1000), 'first poll at start');
  t.ok(await until(() => imds.stateReads >= 3, 2000), 'polled again');
  t.equal(fired, 0, 'InService: nothing');
  imds.lifecycleState = 'Terminated';
  t.ok(await until(() => fired > 0, 2000), 'Terminated: fired');
  const reads = imds.stateReads;
  await sleep(200);
  t.equal(fired, 1, 'fired exactly once');
  t.equal(imds.stateReads, reads, 'no more polling after it fired');
  watcher.stop();
  await imds.stop();
});

test('scale-in watch: an unreadable IMDS or an unknown state never fires', async (t) => {
  const imds = new LocalImds();
  await imds.start();
  imds.lifecycleState = undefined;
  let fired = 0;
  const watcher = watchScaleIn(new ImdsClient(imds.endpoint), 30, silent, () => { fired++; });
  t.ok(await until(() => imds.stateReads >= 3, 2000), 'polled through 404s');
  imds.lifecycleState = 'Warmed:Terminated';
  const reads = imds.stateReads;
  t.ok(await until(() => imds.stateReads >= reads + 2, 2000), 'polled an unrelated state');
  watcher.stop();
  const stoppedAt = imds.stateReads;
  imds.lifecycleState = 'Terminated';
  await sleep(150);
  t.equal(fired, 0, 'never fired');
  t.equal(imds.stateReads, stoppedAt, 'stop() ends the polling');
  await imds.stop();
});
