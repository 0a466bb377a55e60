/**
 * Test entry point: `node dist/test/run.js [filter...]`.
 *
 * Every `*.test.js` under dist/test is loaded in path order, between a set-up test that creates the
 * `jambones_test` database and a tear-down test that drops it. A filter keeps only the files whose path
 * contains one of the given words. The last line is the plain "N passed, N failed" summary.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'tape';
import { createTestDatabase, dropTestDatabase } from './support/test-db';

function findTestFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTestFiles(full));
    else if (entry.name.endsWith('.test.js')) found.push(full);
  }
  return found.sort();
}

function countResults(): void {
  let passed = 0;
  let failed = 0;
  const stream = test.createStream();
  stream.on('data', (chunk: Buffer | string) => {
    const text = chunk.toString();
    process.stdout.write(text);
    for (const line of text.split('\n')) {
      if (/^ok \d+/.test(line)) passed++;
      else if (/^not ok \d+/.test(line)) failed++;
    }
  });
  stream.on('end', () => {
    console.log(`\n${passed} passed, ${failed} failed`);
    // tape's own exit hook would close the (already closed) results a second time.
    process.removeAllListeners('exit');
    process.exit(failed > 0 || passed === 0 ? 1 : 0);
  });
}

// The service logs of the whole run, searched for secrets by test/zz-log-secrets.test.ts.
process.env.SERVICE_LOG_FILE ??= path.join(os.tmpdir(), `sip-sidecar-service-logs-${process.pid}.log`);
fs.writeFileSync(process.env.SERVICE_LOG_FILE, '');

const filters = process.argv.slice(2);
const files = findTestFiles(__dirname).filter(
  (file) => filters.length === 0 || filters.some((word) => file.includes(word)),
);

countResults();
// tape closes its results (plan and summary) only when the event loop drains; a leaked socket in one
// test file would then hang the run forever. Close as soon as the last test has finished instead.
test.onFinish(() => (test as unknown as { getHarness(): { close(): void } }).getHarness().close());
test('set-up: create the jambones_test database', async (t) => {
  await createTestDatabase();
  t.pass('jambones_test created from db/schema.sql');
});
// Test files register their tests when loaded, in path order; a dynamic import would reorder them.
// eslint-disable-next-line @typescript-eslint/no-require-imports
for (const file of files) require(file);
test('tear-down: drop the jambones_test database', async (t) => {
  await dropTestDatabase();
  t.pass('jambones_test dropped');
});
