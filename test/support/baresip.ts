/**
 * baresip (Debian `baresip-core`) as a softphone that registers through the drachtio stand-in: headless,
 * with a config directory of its own per run (no audio or video modules, no console UI, SIP on one
 * loopback address), its SIP trace on so a test can read what it sent. SIGTERM makes it un-REGISTER and exit.
 */
import { requireProgram, startProgram, ProgramRun } from './child-program';

export interface BaresipAccount {
  user: string;
  password: string;
  realm: string;
  transport: 'udp' | 'tcp';
  /** Where REGISTERs go (the stand-in's SIP listener); the Request-URI stays `sip:<realm>`. */
  proxy: { host: string; port: number };
  /** Requested registration interval (s); baresip's default is 3600. */
  regint?: number;
}

export interface Baresip extends ProgramRun {
  /** The REGISTER requests baresip sent, as its SIP trace shows them (a UA only ever sends REGISTERs). */
  sentRegisters(): string[];
  /** The responses it received. */
  receivedResponses(): string[];
}

export function startBaresip(account: BaresipAccount, opts: { localAddress?: string; maxRunMs?: number } = {}): Baresip {
  const bin = requireProgram('baresip', 'baresip-core');
  const local = opts.localAddress ?? '127.0.0.1';
  const config = [
    'poll_method epoll',
    `sip_listen ${local}:0`,
    `sip_trans_def ${account.transport}`,
    'module_path /usr/lib/baresip/modules',
    // Only the account loader: no audio/video drivers, codecs or UI, so nothing reaches for a sound card.
    'module_app account.so',
  ].join('\n');
  const aor = `<sip:${account.user}@${account.realm};transport=${account.transport}>`;
  const outbound = `sip:${account.proxy.host}:${account.proxy.port};transport=${account.transport}`;
  const accounts = `${aor};auth_pass=${account.password};outbound="${outbound}";regint=${account.regint ?? 600}\n`;
  const run = startProgram(bin, {
    name: 'baresip',
    // -f: this run's config directory; -s: SIP trace on stdout; -4: IPv4 only.
    args: ['-4', '-s', '-f', '.baresip'],
    files: { '.baresip/config': config, '.baresip/accounts': accounts },
    maxRunMs: opts.maxRunMs ?? 60000,
  });
  return {
    ...run,
    sentRegisters: () => sipTrace(run.output()).filter((text) => text.startsWith('REGISTER ')),
    receivedResponses: () => sipTrace(run.output()).filter((text) => text.startsWith('SIP/2.0 ')),
  };
}

/** The messages of baresip's `-s` trace: each block is a `#` line, `<proto> <from> -> <to>`, then the message. */
function sipTrace(output: string): string[] {
  return output.split('\x1b[36;1m#\n').slice(1).map((block) => {
    const body = block.split('\x1b[;m')[0];
    return body.slice(body.indexOf('\n') + 1).replace(/\r?\n/g, '\r\n');
  });
}
