/**
 * Runs real sipp (SIPP_BIN or /usr/bin/sipp, 3.6.1) as a UAC for one test step, or as a long-running UAS
 * such as a fake carrier, and turns its trace files into something tests can assert on.
 *
 * Every run gets its own temp directory holding the message trace, error log, `<log>` output, statistics
 * CSV and final screen. sipp always gets -nostdin (no terminal in CI), -timeout with -timeout_error (without
 * the latter sipp keeps waiting for open calls after the timeout and exits 0) and, by default,
 * `-default_behaviors all,-bye` (so an aborted call does not send BYE/CANCEL to the system under test).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tape';

export const SIPP_BIN = process.env.SIPP_BIN || '/usr/bin/sipp';

export type SippTransport = 'u1' | 't1' | 'un' | 'tn';

export interface SippRunOptions {
  /** A path to a scenario XML, an inline XML string starting with '<?xml', or `builtin:<name>` (sipp -sn). */
  scenario: string;
  /** 'host:port' of the system under test. */
  target: string;
  transport?: SippTransport;
  /** -i: the address sipp binds and writes into Via/Contact/From, e.g. 127.0.0.5 to appear as another host. */
  localIp?: string;
  /** -p */
  localPort?: number;
  /** -m, default 1 */
  calls?: number;
  /** -r */
  rate?: number;
  /** -rp in milliseconds */
  ratePeriodMs?: number;
  /** -l */
  concurrent?: number;
  /** -key k v, available as [k] in the scenario. sipp refuses a scenario that uses an unset key. */
  keys?: Record<string, string>;
  /** Rows for an -inf file (SEQUENTIAL), available as [field0], [field1]... Values must not contain ';'. */
  injectionCsv?: string[][];
  /** -timeout in seconds, default 15 (servers: 120). The process is killed 5 s after that in any case. */
  timeoutSec?: number;
  /**
   * -default_behaviors, default 'all,-bye': unexpected messages still abort the call at once (with -nd sipp
   * would keep retransmitting until -timeout), but an aborted call sends no BYE/CANCEL to the system under test.
   */
  defaultBehaviors?: string;
  extraArgs?: string[];
}

export interface SippStats {
  successful: number;
  failed: number;
  created: number;
  retransmissions: number;
  failedTimeoutOnRecv: number;
  failedUnexpectedMessage: number;
  failedMaxUdpRetrans: number;
  failedRegexp: number;
  outOfCallMessages: number;
  deadCallMessages: number;
  /** Every cumulative column of the -trace_stat CSV, by its CSV name (e.g. 'SuccessfulCall(C)'). */
  raw: Record<string, string>;
}

export interface SippResult {
  /** 0 all calls succeeded, 1 some failed, 255 fatal error or -timeout reached, 97/99 internal; -1 if killed. */
  exitCode: number;
  /** True when sipp's global -timeout (or our kill guard) ended the run. */
  timedOut: boolean;
  stats: SippStats;
  /** -trace_msg contents. */
  messages: string;
  /** -trace_err contents. */
  errors: string;
  /** -trace_logs contents (scenario `<log>` actions). */
  logs: string;
  /** The final statistics screens (-trace_screen). */
  screen: string;
  stdout: string;
  stderr: string;
  args: string[];
  /** The per-run directory; removed after the run unless SIPP_KEEP_TRACES=1. */
  dir: string;
  durationMs: number;
}

const TRACE_FILES = {
  messages: 'messages.log',
  errors: 'errors.log',
  logs: 'logs.log',
  stats: 'stats.csv',
  screen: 'screen.log',
};

// ---------------------------------------------------------------------------------------------------------
// Running sipp

export async function runSipp(opts: SippRunOptions): Promise<SippResult> {
  return startSipp({ ...opts, calls: opts.calls ?? 1 }, [opts.target]).done;
}

/** Runs sipp and records a failing assertion, with its evidence as TAP comments, unless it exits 0. */
export async function expectSippSuccess(t: Test, opts: SippRunOptions, label: string): Promise<SippResult> {
  const result = await runSipp(opts);
  t.equal(result.exitCode, 0, `${label} (sipp exit code)`);
  if (result.exitCode !== 0) t.comment(describeSippRun(result));
  return result;
}

export interface SippServerOptions extends Omit<SippRunOptions, 'target' | 'calls' | 'localPort'> {
  /** The port the UAS listens on; required so that clients can reach it (see findFreePort). */
  localPort: number;
  /** Optional: a remote host:port (sipp needs one only for scenarios that start by sending). */
  target?: string;
  /** -m: leave unset to run until stop(). */
  calls?: number;
}

export interface SippServer {
  /** Resolves once sipp has bound its port; rejects if sipp exits first. */
  ready: Promise<void>;
  /** Terminates sipp (SIGTERM, which still writes statistics) and returns its result. */
  stop(): Promise<SippResult>;
  done: Promise<SippResult>;
}

/** A long-running sipp UAS (a fake carrier or registrar), killed at stop(). */
export function startSippServer(opts: SippServerOptions): SippServer {
  const serverOpts = { ...opts, target: opts.target ?? '', timeoutSec: opts.timeoutSec ?? 120 };
  const run = startSipp(serverOpts, opts.target ? [opts.target] : []);
  const ready = waitForBind(opts.localPort, opts.transport ?? 'u1', run.done);
  // Keep an unobserved rejection from crashing the process when a test only awaits `done`.
  ready.catch(() => undefined);
  return {
    ready,
    done: run.done,
    stop: async () => {
      run.kill('SIGTERM');
      return run.done;
    },
  };
}

interface SippProcess {
  done: Promise<SippResult>;
  kill(signal: NodeJS.Signals): void;
}

function startSipp(opts: SippRunOptions, positional: string[]): SippProcess {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sipp-'));
  let args: string[];
  try {
    args = [...positional, ...buildArgs(opts, dir)];
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const timeoutSec = opts.timeoutSec ?? 15;
  const started = Date.now();
  const child = spawn(SIPP_BIN, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let killedByGuard = false;
  // sipp enforces -timeout itself; this guard only covers a wedged process.
  const guard = setTimeout(() => {
    killedByGuard = true;
    child.kill('SIGKILL');
  }, (timeoutSec + 5) * 1000);

  const done = new Promise<SippResult>((resolve) => {
    let finished = false;
    const finish = (exitCode: number, spawnError?: Error) => {
      // A spawn failure emits both 'error' and 'close'.
      if (finished) return;
      finished = true;
      clearTimeout(guard);
      const durationMs = Date.now() - started;
      const timedOut = killedByGuard || (exitCode === 255 && durationMs >= timeoutSec * 1000 - 50);
      const errText = spawnError ? `${stderr}\n${SIPP_BIN}: ${spawnError.message}` : stderr;
      const result = collectResult(dir, { exitCode, timedOut, stdout, stderr: errText, args, durationMs });
      // The result already holds every trace's text; SIPP_KEEP_TRACES=1 keeps the files for a post-mortem.
      if (!process.env.SIPP_KEEP_TRACES) fs.rmSync(dir, { recursive: true, force: true });
      resolve(result);
    };
    child.on('error', (err) => finish(-1, err));
    child.on('close', (code) => finish(code ?? -1));
  });
  return { done, kill: (signal) => child.kill(signal) };
}

function buildArgs(opts: SippRunOptions, dir: string): string[] {
  const args = [...scenarioArgs(opts.scenario, dir), '-nostdin'];
  args.push('-t', opts.transport ?? 'u1');
  if (opts.localIp) args.push('-i', opts.localIp);
  if (opts.localPort !== undefined) args.push('-p', String(opts.localPort));
  if (opts.calls !== undefined) args.push('-m', String(opts.calls));
  if (opts.rate !== undefined) args.push('-r', String(opts.rate));
  if (opts.ratePeriodMs !== undefined) args.push('-rp', String(opts.ratePeriodMs));
  if (opts.concurrent !== undefined) args.push('-l', String(opts.concurrent));
  for (const [key, value] of Object.entries(opts.keys ?? {})) args.push('-key', key, value);
  if (opts.injectionCsv) args.push('-inf', writeInjectionFile(opts.injectionCsv, dir));
  args.push('-timeout', `${opts.timeoutSec ?? 15}s`, '-timeout_error');
  args.push('-default_behaviors', opts.defaultBehaviors ?? 'all,-bye');
  args.push('-trace_msg', '-message_file', path.join(dir, TRACE_FILES.messages));
  args.push('-trace_err', '-error_file', path.join(dir, TRACE_FILES.errors));
  args.push('-trace_logs', '-log_file', path.join(dir, TRACE_FILES.logs));
  args.push('-trace_stat', '-stf', path.join(dir, TRACE_FILES.stats));
  args.push('-trace_screen', '-screen_file', path.join(dir, TRACE_FILES.screen));
  return [...args, ...(opts.extraArgs ?? [])];
}

function scenarioArgs(scenario: string, dir: string): string[] {
  if (scenario.startsWith('builtin:')) return ['-sn', scenario.slice('builtin:'.length)];
  if (scenario.trimStart().startsWith('<?xml')) {
    const file = path.join(dir, 'scenario.xml');
    fs.writeFileSync(file, scenario);
    return ['-sf', file];
  }
  if (!fs.existsSync(scenario)) throw new Error(`sipp scenario not found: ${scenario}`);
  return ['-sf', path.resolve(scenario)];
}

function writeInjectionFile(rows: string[][], dir: string): string {
  for (const value of rows.flat()) {
    if (/[;\r\n]/.test(value)) throw new Error(`injection value ${JSON.stringify(value)} contains ';' or a newline`);
  }
  const file = path.join(dir, 'injection.csv');
  fs.writeFileSync(file, ['SEQUENTIAL', ...rows.map((row) => row.join(';'))].join('\n') + '\n');
  return file;
}

function readIfExists(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'latin1') : '';
}

type RunFacts = Pick<SippResult, 'exitCode' | 'timedOut' | 'stdout' | 'stderr' | 'args' | 'durationMs'>;

function collectResult(dir: string, facts: RunFacts): SippResult {
  const screen = readIfExists(path.join(dir, TRACE_FILES.screen));
  return {
    ...facts,
    dir,
    stats: parseStats(readIfExists(path.join(dir, TRACE_FILES.stats)), screen || facts.stdout),
    messages: readIfExists(path.join(dir, TRACE_FILES.messages)),
    errors: readIfExists(path.join(dir, TRACE_FILES.errors)),
    logs: readIfExists(path.join(dir, TRACE_FILES.logs)),
    screen,
  };
}

/** Everything worth reading when a sipp run went wrong, for t.comment(). Long traces keep their tail. */
export function describeSippRun(result: SippResult, maxChars = 12000): string {
  const tail = (text: string) => (text.length > maxChars ? `...${text.slice(-maxChars)}` : text);
  return [
    `sipp ${result.args.join(' ')}`,
    `exit code ${result.exitCode}${result.timedOut ? ' (timed out)' : ''} after ${result.durationMs} ms;` +
      ` successful ${result.stats.successful}, failed ${result.stats.failed}` +
      (process.env.SIPP_KEEP_TRACES ? `; traces kept in ${result.dir}` : ''),
    `--- stderr ---\n${tail(result.stderr.trim())}`,
    `--- error log ---\n${tail(result.errors.trim())}`,
    `--- scenario log ---\n${tail(result.logs.trim())}`,
    `--- message trace ---\n${tail(result.messages.trim())}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Statistics

function parseStats(csv: string, screen: string): SippStats {
  const raw = lastCsvRow(csv);
  const num = (name: string) => Number(raw[name] ?? 0) || 0;
  if (Object.keys(raw).length === 0) return statsFromScreen(screen);
  return {
    successful: num('SuccessfulCall(C)'),
    failed: num('FailedCall(C)'),
    created: num('TotalCallCreated'),
    retransmissions: num('Retransmissions(C)'),
    failedTimeoutOnRecv: num('FailedTimeoutOnRecv(C)'),
    failedUnexpectedMessage: num('FailedUnexpectedMessage(C)'),
    failedMaxUdpRetrans: num('FailedMaxUDPRetrans(C)'),
    failedRegexp:
      num('FailedRegexpDoesntMatch(C)') + num('FailedRegexpShouldntMatch(C)') + num('FailedRegexpHdrNotFound(C)'),
    outOfCallMessages: num('OutOfCallMsgs(C)'),
    deadCallMessages: num('DeadCallMsgs(C)'),
    raw,
  };
}

/** The statistics CSV has one header line and one line per dump; the last line holds the final totals. */
function lastCsvRow(csv: string): Record<string, string> {
  const lines = csv.split('\n').filter((line) => line.trim() !== '');
  if (lines.length < 2) return {};
  const names = lines[0].split(';');
  const values = lines[lines.length - 1].split(';');
  const row: Record<string, string> = {};
  names.forEach((name, i) => {
    if (name && (name.endsWith('(C)') || !name.endsWith('(P)'))) row[name] = values[i] ?? '';
  });
  return row;
}

/** Fallback when no CSV was written (e.g. sipp died early): the cumulative column of the last screen. */
function statsFromScreen(screen: string): SippStats {
  const cumulative = (label: string): number => {
    const matches = [...screen.matchAll(new RegExp(`${label}\\s*\\|[^|]*\\|\\s*(\\d+)`, 'g'))];
    return matches.length ? Number(matches[matches.length - 1][1]) : 0;
  };
  return {
    successful: cumulative('Successful call'),
    failed: cumulative('Failed call'),
    created: cumulative('Total Calls created'),
    retransmissions: 0,
    failedTimeoutOnRecv: 0,
    failedUnexpectedMessage: 0,
    failedMaxUdpRetrans: 0,
    failedRegexp: 0,
    outOfCallMessages: 0,
    deadCallMessages: 0,
    raw: {},
  };
}

// ---------------------------------------------------------------------------------------------------------
// Readiness of a server: is its port bound yet?

/**
 * Waits until something listens on `port` (UDP bound / TCP LISTEN), read from /proc/net so that probing
 * never races sipp for the port, or fails when sipp exits first.
 */
async function waitForBind(port: number, transport: SippTransport, exited: Promise<SippResult>): Promise<void> {
  let gone: SippResult | undefined;
  exited.then((r) => (gone = r)).catch(() => undefined);
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if (isPortBound(port, transport.startsWith('t') ? 'tcp' : 'udp')) return;
    if (gone) throw new Error(`sipp exited (${gone.exitCode}) before binding port ${port}:\n${describeSippRun(gone)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`sipp did not bind port ${port} within 10 s`);
}

function isPortBound(port: number, proto: 'udp' | 'tcp'): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const LISTEN = '0A';
  return [`/proc/net/${proto}`, `/proc/net/${proto}6`].some((file) =>
    readIfExists(file)
      .split('\n')
      .slice(1)
      .some((line) => {
        const cols = line.trim().split(/\s+/);
        return cols[1]?.endsWith(`:${hexPort}`) && (proto === 'udp' || cols[3] === LISTEN);
      }),
  );
}

/** A port that is free on `host` for both UDP and TCP right now (the OS picks it). */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, host, () => {
        const { port: chosen } = server.address() as net.AddressInfo;
        server.close(() => resolve(chosen));
      });
    });
    if (!isPortBound(port, 'udp')) return port;
  }
  throw new Error('no free port found');
}

// ---------------------------------------------------------------------------------------------------------
// The message trace

export interface TracedMessage {
  direction: 'sent' | 'received';
  transport: string;
  /** The timestamp sipp printed on the separator line. */
  time: string;
  /** The SIP message, lines joined with CRLF, without the trailing blank lines sipp adds. */
  text: string;
}

const SEPARATOR = /^-{20,} (\d{4}-\d\d-\d\d \S+)$/;
const RECEIVED = /^(\S+) message received \[\d+\] bytes :$/;
const SENT = /^(\S+) message sent \(\d+ bytes\):$/;

/**
 * Splits a -trace_msg file into messages. Each entry is a dated separator line, then
 * "<T> message received [N] bytes :" or "<T> message sent (N bytes):", a blank line and the message.
 * Undated blocks ("Unexpected UDP message received:", "Dead call ... received") repeat a message already
 * logged, so they are skipped.
 */
export function parseMessageTrace(trace: string): TracedMessage[] {
  const lines = trace.split(/\r?\n/);
  const found: TracedMessage[] = [];
  let current: { entry: TracedMessage; body: string[] } | undefined;
  const flush = () => {
    if (current) found.push({ ...current.entry, text: trimBlankLines(current.body).join('\r\n') });
    current = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    if (/^-{20,}/.test(lines[i])) {
      flush();
      const date = SEPARATOR.exec(lines[i]);
      const kind = lines[i + 1] ?? '';
      const received = RECEIVED.exec(kind);
      const match = received ?? SENT.exec(kind);
      if (date && match) {
        current = { entry: { direction: received ? 'received' : 'sent', transport: match[1], time: date[1], text: '' }, body: [] };
        i++;
      }
    } else if (current) {
      current.body.push(lines[i]);
    }
  }
  flush();
  return found;
}

function trimBlankLines(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start].trim() === '') start++;
  while (end > start && lines[end - 1].trim() === '') end--;
  return lines.slice(start, end);
}

/** The messages sipp received, in order, as CRLF-joined SIP text. */
export function receivedMessages(result: SippResult | string): string[] {
  return traced(result, 'received');
}

export function sentMessages(result: SippResult | string): string[] {
  return traced(result, 'sent');
}

function traced(result: SippResult | string, direction: TracedMessage['direction']): string[] {
  const trace = typeof result === 'string' ? result : result.messages;
  return parseMessageTrace(trace)
    .filter((m) => m.direction === direction)
    .map((m) => m.text);
}

/** The received responses (not requests). */
export function receivedResponses(result: SippResult | string): string[] {
  return receivedMessages(result).filter((m) => m.startsWith('SIP/2.0 '));
}

/** The status code of a response, or undefined for a request. */
export function statusOf(msg: string): number | undefined {
  const match = /^SIP\/2\.0 (\d{3})/.exec(msg);
  return match ? Number(match[1]) : undefined;
}

const COMPACT_HEADERS: Record<string, string> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
};

/** Every value of a header (compact forms and folded lines understood), in order of appearance. */
export function headersOf(msg: string, name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  let last: number | undefined;
  for (const line of msg.split(/\r?\n/).slice(1)) {
    if (line === '') break; // end of headers
    if (/^[ \t]/.test(line) && last !== undefined) {
      values[last] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const header = line.slice(0, colon).trim().toLowerCase();
    last = undefined;
    if ((COMPACT_HEADERS[header] ?? header) === wanted) last = values.push(line.slice(colon + 1).trim()) - 1;
  }
  return values;
}

/** The first value of a header, or undefined when absent. */
export function headerOf(msg: string, name: string): string | undefined {
  return headersOf(msg, name)[0];
}

// ---------------------------------------------------------------------------------------------------------
// The reusable scenarios in test/support/sipp-scenarios (not compiled, so found from the repository root)

export type ScenarioName =
  | 'options-uac'
  | 'register-noauth'
  | 'register-auth'
  | 'register-auth-fail'
  | 'register-continuous'
  | 'uas-register-auth';

export function scenarioPath(name: ScenarioName): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'test', 'support', 'sipp-scenarios', `${name}.xml`);
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`scenario ${name}.xml not found above ${__dirname}`);
  }
}

/** Header lines for an [extra_headers] key: never empty, because an empty line would end sipp's headers. */
export function headerLines(headers?: Record<string, string> | string[]): string {
  const lines = Array.isArray(headers) ? headers : Object.entries(headers ?? {}).map(([k, v]) => `${k}: ${v}`);
  return (lines.length ? lines : ['X-Sipp-Test: 1']).join('\r\n');
}

export interface RegisterDevice {
  /** To/From user and digest username. */
  user: string;
  password?: string;
  /** To/From host, i.e. the realm the registrar looks up. */
  domain: string;
  /** Request-URI host; defaults to the domain. */
  requestUriHost?: string;
}

export interface RegisterRunOptions extends Omit<SippRunOptions, 'scenario' | 'injectionCsv' | 'keys'> {
  /** One CSV row per device; calls default to one per device. */
  devices: RegisterDevice | RegisterDevice[];
  /** Expires header value; null sends no Expires header. Default 3600. */
  expires?: number | null;
  /** Appended after the Contact URI, e.g. ';expires=60'. Default none. */
  contactParams?: string;
  extraHeaders?: Record<string, string> | string[];
  /** register-noauth / register-auth-fail: the final response the call must get (defaults 200 / 403). */
  expect?: number;
  /** register-auth: the Expires the 200 must carry, default 'any'. */
  expectExpires?: number | 'any';
  keys?: Record<string, string>;
}

/** Options for one of the register-* scenarios, with every key it needs filled in. */
export function registerRun(
  scenario: 'register-noauth' | 'register-auth' | 'register-auth-fail',
  opts: RegisterRunOptions,
): SippRunOptions {
  const { devices, expires, contactParams, extraHeaders, expect, expectExpires, keys, ...rest } = opts;
  const list = Array.isArray(devices) ? devices : [devices];
  return {
    calls: list.length,
    ...rest,
    scenario: scenarioPath(scenario),
    injectionCsv: list.map((d) => [d.user, d.password ?? '', d.domain, d.requestUriHost ?? d.domain]),
    keys: {
      expires_header: expires === null ? 'X-Sipp-No-Expires: 1' : `Expires: ${expires ?? 3600}`,
      contact_params: contactParams ?? '',
      extra_headers: headerLines(extraHeaders),
      expect: String(expect ?? (scenario === 'register-auth-fail' ? 403 : 200)),
      expect_expires: String(expectExpires ?? 'any'),
      ...keys,
    },
  };
}

export interface OptionsRunOptions extends Omit<SippRunOptions, 'scenario'> {
  fromUser?: string;
  extraHeaders?: Record<string, string> | string[];
}

/** Options for options-uac.xml with its keys filled in. */
export function optionsRun(opts: OptionsRunOptions): SippRunOptions {
  const { fromUser, extraHeaders, keys, ...rest } = opts;
  return {
    ...rest,
    scenario: scenarioPath('options-uac'),
    keys: { from_user: fromUser ?? 'sipp', extra_headers: headerLines(extraHeaders), ...keys },
  };
}

export interface AcceptAllOptions {
  /** The Expires header of every 200. */
  expires: number;
  /**
   * Answer at `<host>:<Via port>` instead of where the call's first REGISTER came from. A binding that moves
   * between drachtio stand-ins keeps its Call-ID, so one sipp call gets REGISTERs from several sources, and
   * sipp would answer them all at the first one's address. The stand-ins write the public IP they advertise
   * (and do not have) into Via, but their real port, so the port is what tells them apart.
   */
  answerViaPortOn?: string;
}

/** A registrar answering every REGISTER of every Call-ID with 200 and a fixed Expires, for as long as it runs. */
export function acceptAllRegistersScenario(opts: AcceptAllOptions): string {
  const route = opts.answerViaPortOn === undefined ? [] : [
    '    <action>',
    '      <ereg regexp="SIP/2.0/UDP [^:;]+:([0-9]+)" search_in="hdr" header="Via:" check_it="true" assign_to="via,vport"/>',
    `      <setdest host="${opts.answerViaPortOn}" port="[$vport]" protocol="udp"/>`,
    '    </action>',
  ];
  const response = ['SIP/2.0 200 OK', '[last_Via:]', '[last_From:]', '[last_To:];tag=[pid]SIPpTag01[call_number]', '[last_Call-ID:]',
    '[last_CSeq:]', `Expires: ${opts.expires}`, 'Content-Length: 0', '', ''];
  return [
    '<?xml version="1.0" encoding="ISO-8859-1" ?>',
    '<scenario name="accept-all">',
    '  <label id="loop"/>',
    ...(route.length > 0 ? ['  <recv request="REGISTER">', ...route, '  </recv>'] : ['  <recv request="REGISTER"/>']),
    '  <send><![CDATA[',
    ...response.map((line) => `      ${line}`),
    '  ]]></send>',
    '  <nop next="loop"/>',
    // sipp refuses a variable used only once; `via` is the whole match, which nothing needs
    ...(route.length > 0 ? ['  <Reference variables="via"/>'] : []),
    '</scenario>',
    '',
  ].join('\n');
}

export interface ResponderOptions {
  /** The request to answer, default REGISTER. */
  method?: string;
  code: number;
  reason?: string;
  /** Header lines added to the response (Contact is echoed and Expires added for REGISTER). */
  headers?: Record<string, string> | string[];
}

/**
 * An inline UAS scenario answering each request with a fixed response. sipp reads the status code when it
 * loads a scenario (so it cannot come from a -key), hence XML generated per code.
 */
export function responderScenario(opts: ResponderOptions): string {
  const method = opts.method ?? 'REGISTER';
  if (!Number.isInteger(opts.code) || opts.code < 100 || opts.code > 699) throw new Error(`bad SIP code ${opts.code}`);
  const register = method === 'REGISTER' ? ['[last_Contact:]', '[last_Expires:]'] : [];
  const lines = [
    `SIP/2.0 ${opts.code} ${opts.reason ?? 'Test Response'}`,
    '[last_Via:]',
    '[last_From:]',
    '[last_To:];tag=[pid]SIPpTag01[call_number]',
    '[last_Call-ID:]',
    '[last_CSeq:]',
    ...register,
    ...(opts.headers ? headerLines(opts.headers).split('\r\n') : []),
    'Content-Length: 0',
  ];
  return [
    '<?xml version="1.0" encoding="ISO-8859-1" ?>',
    `<scenario name="respond-${method}-${opts.code}">`,
    `  <recv request="${method}"/>`,
    '  <send>',
    '    <![CDATA[',
    ...lines.map((line) => `      ${line}`),
    '',
    '    ]]>',
    '  </send>',
    '</scenario>',
    '',
  ].join('\n');
}
