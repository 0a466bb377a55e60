/**
 * The operator page in a real browser: Debian's chromium (/usr/bin/chromium) driven by playwright-core,
 * against the built service with devices sipp registered, a carrier trunk regbot registered to (sipp),
 * a feature server that checked in and a banned source. The page must load without console errors, show
 * the devices and the trunk's state, unban (checked in Redis), drain, refuse a wrong token, keep the token
 * out of URLs, and show attacker-chosen text (a User-Agent carrying HTML) as text. Screenshots at laptop
 * and phone sizes go to test-output/operator-page/ (TEST_OUTPUT_DIR overrides test-output/).
 */
import test from 'tape';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, BrowserContext, Page } from 'playwright-core';
import { keys } from '../../lib/store/keys';
import { repoRoot } from '../support/test-db';
import {
  API_TOKEN, banSource, CLUSTER, featureServerCheckIn, OperatorBed, OTHER_REALM, REALM, registerDevices, SECRETS, startOperatorBed,
} from '../support/operator-bed';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SHOTS = path.join(process.env.TEST_OUTPUT_DIR || path.join(repoRoot(), 'test-output'), 'operator-page');
const XSS_USER_AGENT = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
const BANNED_IP = '127.0.0.81';
const FEATURE_SERVER_IP = '127.0.0.82';
const WAIT_MS = 10_000;

let ops: OperatorBed;
let context: BrowserContext;
let userDataDir: string;
let base = '';

interface WatchedPage {
  page: Page;
  /** console errors, uncaught exceptions and failed requests, as text */
  problems: string[];
}

async function openPage(viewport: { width: number; height: number }, mobile = false): Promise<WatchedPage> {
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  if (mobile) await page.emulateMedia({ media: 'screen' });
  const problems: string[] = [];
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}`));
  return { page, problems };
}

async function logIn(page: Page, token: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.locator('#token').waitFor({ state: 'visible', timeout: WAIT_MS });
  await page.fill('#token', token);
  await page.click('#login-form button[type="submit"]');
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

async function until(check: () => Promise<boolean>, timeoutMs = WAIT_MS): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

test('operator page: set up (service, sipp devices, trunk, feature server, ban, chromium)', async (t) => {
  ops = await startOperatorBed();
  base = `http://127.0.0.1:${ops.httpPort}`;
  await registerDevices(t, ops.bed, [{ user: 'alice', domain: REALM }, { user: 'bob', domain: REALM }]);
  await registerDevices(t, ops.bed, [{ user: 'mallet', domain: OTHER_REALM }], { userAgent: XSS_USER_AGENT });
  await featureServerCheckIn(t, ops.bed, FEATURE_SERVER_IP);
  await banSource(t, ops.bed, BANNED_IP);
  fs.rmSync(SHOTS, { recursive: true, force: true });
  fs.mkdirSync(SHOTS, { recursive: true });
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sip-sidecar-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000,
  });
  t.pass(`chromium ${context.browser()?.version() ?? ''} started`);
});

test('operator page: served with a strict Content-Security-Policy and its own assets only', async (t) => {
  const res = await fetch(`${base}/`);
  t.equal(res.status, 200, 'GET / without a token: the page (it holds no data)');
  const csp = res.headers.get('content-security-policy') ?? '';
  t.ok(csp.includes("script-src 'self'") && csp.includes("default-src 'none'"), 'CSP: scripts from the page\'s origin only');
  t.notOk(csp.includes('unsafe-inline') || csp.includes('unsafe-eval'), 'no inline script or eval');
  const html = await res.text();
  t.notOk(/<script(?![^>]*\bsrc=)[^>]*>/i.test(html), 'no inline <script> in the page');
  t.notOk(/(src|href)="(https?:)?\/\//i.test(html), 'no asset from another origin (no CDN)');
  const uplot = await fetch(`${base}/ui/uPlot.min.js`);
  t.equal(uplot.status, 200, 'uPlot served from the installed dependency');
  t.equal(await uplot.text(), fs.readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'), 'byte for byte');
});

test('operator page: a wrong token is refused', async (t) => {
  const { page } = await openPage({ width: 1366, height: 900 });
  await logIn(page, 'not-the-right-token-at-all');
  const error = page.locator('#login-error');
  t.ok(await until(async () => (await error.textContent()) === 'Token refused.'), 'says the token was refused');
  t.ok(await page.locator('#login').isVisible(), 'the login form stays');
  t.notOk(await page.locator('#app').isVisible(), 'no data shown');
  t.equal(await page.evaluate('sessionStorage.length'), 0, 'nothing kept in sessionStorage');
  t.equal(page.url(), `${base}/`, 'the token is not in the URL');
  await shot(page, 'laptop-login-refused.png');
  await page.close();
});

test('operator page: laptop: registrations, trunk state, cluster and bans, without console errors', async (t) => {
  const { page, problems } = await openPage({ width: 1366, height: 900 });
  await logIn(page, API_TOKEN);
  const alice = page.locator('#registrations tbody tr', { hasText: `alice@${REALM}` });
  await alice.waitFor({ timeout: WAIT_MS });
  t.pass('alice (registered by sipp) is listed');
  t.equal(await page.locator('#registrations tbody tr').count(), 3, 'three registrations');
  t.equal((await alice.locator('td').nth(5).textContent()), 'sipp-test', 'with her User-Agent');
  const trunk = page.locator('#carriers tbody tr', { hasText: 'Acme Carrier' });
  await trunk.waitFor({ timeout: WAIT_MS });
  t.equal(await trunk.locator('.state').textContent(), 'registered', 'the trunk\'s state: registered');
  t.ok((await trunk.textContent())?.includes('200 OK'), 'its last response');
  t.ok(await until(async () => (await page.locator('#feature-servers li').first().textContent())?.includes(FEATURE_SERVER_IP) ?? false),
    'the feature server that checked in');
  t.ok(await until(async () => await page.locator('#bans tbody tr').count() === 1), 'the banned source');
  t.equal(await page.locator('#realms .chip').count(), 3, 'realm chips: all, and one per account realm');
  t.ok(await until(async () => await page.locator('#chart-live canvas').count() === 1 && await page.locator('#chart-outcomes canvas').count() === 1),
    'both charts drawn');
  t.equal(page.url(), `${base}/`, 'the token is not in the URL');
  await shot(page, 'laptop.png');

  await alice.click();
  await page.locator('#detail').waitFor({ state: 'visible', timeout: WAIT_MS });
  t.equal(await page.locator('#detail-aor').textContent(), `alice@${REALM}`, 'a click shows the device\'s bindings');
  t.equal(await page.locator('#detail-bindings tbody tr').count(), 1, 'one binding');
  t.ok((await page.locator('#detail-grant').textContent())?.includes('POST https://calls.example.com/hook'), 'and the grant\'s call hook');
  await shot(page, 'laptop-detail.png');
  const html = await page.content();
  t.deepEqual(SECRETS.filter((secret) => html.includes(secret)), [], 'no secret anywhere in the page');

  t.deepEqual(problems, [], 'no console error, page error or failed request');
  await page.close();
});

test('operator page: HTML in a User-Agent is shown as text, never run', async (t) => {
  const { page, problems } = await openPage({ width: 1366, height: 900 });
  await logIn(page, API_TOKEN);
  const row = page.locator('#registrations tbody tr', { hasText: `mallet@${OTHER_REALM}` });
  await row.waitFor({ timeout: WAIT_MS });
  t.equal(await row.locator('td').nth(5).textContent(), XSS_USER_AGENT, 'the User-Agent, character for character');
  await row.click();
  await page.locator('#detail').waitFor({ state: 'visible', timeout: WAIT_MS });
  t.equal(await page.locator('#detail-bindings tbody td').nth(3).textContent(), XSS_USER_AGENT, 'in the bindings too');
  t.equal(await page.locator('main img, main script').count(), 0, 'no element made from it');
  t.equal(await page.evaluate('window.__xss'), undefined, 'nothing of it ran');
  t.deepEqual(problems, [], 'no console error');
  await page.close();
});

test('operator page: Unban lifts the ban in Redis; Drain and Undrain a feature server', async (t) => {
  const { page, problems } = await openPage({ width: 1366, height: 900 });
  await logIn(page, API_TOKEN);
  const ban = page.locator('#bans tbody tr', { hasText: BANNED_IP });
  await ban.waitFor({ timeout: WAIT_MS });
  t.equal(await ops.bed.redis.exists(keys.bannedSource(BANNED_IP)), 1, 'banned in Redis before');
  await ban.locator('button.unban').click();
  t.ok(await until(async () => await ops.bed.redis.exists(keys.bannedSource(BANNED_IP)) === 0), 'the ban key is gone from Redis');
  t.ok(await until(async () => await page.locator('#bans tbody tr').count() === 0), 'the row is gone');
  t.ok(await page.locator('#bans-empty').isVisible(), '"No source is banned."');

  const server = page.locator('#feature-servers li', { hasText: FEATURE_SERVER_IP });
  await server.locator('button', { hasText: 'Drain' }).click();
  t.ok(await until(async () => (await ops.bed.redis.smembers(keys.drainedFeatureServers(CLUSTER))).includes(FEATURE_SERVER_IP)),
    'Drain: the IP is in <cluster>:drained-fs');
  t.ok(await until(async () => (await server.locator('.state').textContent()) === 'drained'), 'shown drained');
  await shot(page, 'laptop-drained.png');
  await server.locator('button', { hasText: 'Undrain' }).click();
  t.ok(await until(async () => (await ops.bed.redis.smembers(keys.drainedFeatureServers(CLUSTER))).length === 0), 'Undrain: gone from Redis');
  t.deepEqual(problems, [], 'no console error');
  await page.close();
});

test('operator page: phone size: everything fits the width', async (t) => {
  const { page, problems } = await openPage({ width: 390, height: 844 }, true);
  await logIn(page, API_TOKEN);
  await page.locator('#registrations tbody tr', { hasText: `alice@${REALM}` }).waitFor({ timeout: WAIT_MS });
  await page.locator('#carriers tbody tr').first().waitFor({ timeout: WAIT_MS });
  await until(async () => await page.locator('#chart-outcomes canvas').count() === 1);
  const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth') as number;
  t.ok(overflow <= 0, `no sideways scrolling of the page (${overflow} px too wide)`);
  const chartWidth = await page.locator('#chart-live canvas').evaluate((canvas) => canvas.getBoundingClientRect().width);
  t.ok(chartWidth <= 390 && chartWidth > 250, `the chart fits the screen (${Math.round(chartWidth)} px)`);
  await shot(page, 'phone.png');
  await page.locator('#registrations tbody tr', { hasText: `alice@${REALM}` }).click();
  await page.locator('#detail').waitFor({ state: 'visible', timeout: WAIT_MS });
  await shot(page, 'phone-detail.png');
  t.deepEqual(problems, [], 'no console error');
  await page.close();
});

test('operator page: tear down', async (t) => {
  await context?.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  await ops.close();
  t.ok(fs.readdirSync(SHOTS).length >= 5, `screenshots in ${path.relative(repoRoot(), SHOTS)}`);
});
