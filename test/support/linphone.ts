/**
 * linphonec (Debian `linphone-cli`, liblinphone 5.1) as a softphone registering through the drachtio
 * stand-in. It runs with a HOME of its own (it needs `$HOME/.local/share/linphone` to exist) and a config
 * file written per run, and takes its commands (`register`, `unregister`, `status register`, `quit`) on stdin.
 */
import { requireProgram, startProgram, ProgramRun } from './child-program';

export interface LinphoneAccount {
  user: string;
  password: string;
  realm: string;
  /** The stand-in's UDP SIP port on 127.0.0.1. */
  proxyPort: number;
  expires?: number;
}

export interface Linphone extends ProgramRun {
  /** Types one linphonec command. */
  command(line: string): void;
}

export function startLinphone(account: LinphoneAccount, opts: { maxRunMs?: number } = {}): Linphone {
  const bin = requireProgram('linphonec', 'linphone-cli');
  const config = [
    '[sip]',
    'sip_port=-1',
    'sip_tcp_port=0',
    'sip_tls_port=0',
    'default_proxy=0',
    'register_only_when_network_is_up=0',
    '[sound]',
    'echocancellation=0',
    '[video]',
    'enabled=0',
    'capture=0',
    'display=0',
    '[proxy_0]',
    // liblinphone 5.1 ignores reg_route for REGISTER: the realm goes in the proxy URI, the address in maddr.
    `reg_proxy=<sip:${account.realm}:${account.proxyPort};transport=udp;maddr=127.0.0.1>`,
    `reg_identity="${account.user}" <sip:${account.user}@${account.realm}>`,
    `reg_expires=${account.expires ?? 600}`,
    'reg_sendregister=1',
    'publish=0',
    '[auth_info_0]',
    `username=${account.user}`,
    `passwd=${account.password}`,
    `realm=${account.realm}`,
    `domain=${account.realm}`,
    '',
  ].join('\n');
  const run = startProgram(bin, {
    name: 'linphonec',
    args: ['-c', 'linphonerc'],
    files: { linphonerc: config, '.local/share/linphone/.keep': '' },
    stdin: 'pipe',
    maxRunMs: opts.maxRunMs ?? 60000,
  });
  return { ...run, command: (line) => run.proc.stdin?.write(`${line}\n`) };
}
