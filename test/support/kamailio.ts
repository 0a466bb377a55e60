/**
 * Kamailio (Debian `kamailio`, 5.6) as a carrier's registrar for regbot: one UDP listener on loopback, one
 * user whose password is in the script, usrloc in memory (db_mode 0), and a control socket of the run's own
 * so `kamcmd ul.dump` can show the bindings. It challenges with WWW-Authenticate (401) or, as an outbound
 * proxy does, Proxy-Authenticate (407); MD5 or SHA-256 (auth's `algorithm`), qop=auth. Every REGISTER's
 * credentials are logged so a test can read the algorithm and qop the client answered with.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { requireProgram, startProgram, ProgramRun } from './child-program';

export interface KamailioCarrier {
  port: number;
  realm: string;
  user: string;
  password: string;
  algorithm: 'MD5' | 'SHA-256';
  /** 'www': 401 WWW-Authenticate (a registrar); 'proxy': 407 Proxy-Authenticate. */
  challenge: 'www' | 'proxy';
}

export interface Kamailio extends ProgramRun {
  /** `kamcmd ul.dump` through this run's control socket. */
  ulDump(): string;
  /** The credentials of the REGISTERs received, in order: which header carried them, and its value. */
  credentialsSeen(): { header: 'Authorization' | 'Proxy-Authorization'; value: string }[];
}

const MODULES = ['kex', 'corex', 'tm', 'sl', 'pv', 'maxfwd', 'textops', 'siputils', 'xlog', 'usrloc', 'registrar', 'auth', 'ctl'];

function script(c: KamailioCarrier, controlSocket: string): string {
  const authenticate = c.challenge === 'www'
    ? `if (!pv_www_authenticate("$td", "${c.password}", "0")) { www_challenge("$td", "1"); exit; }`
    : `if (!pv_proxy_authenticate("$td", "${c.password}", "0")) { proxy_challenge("$td", "1"); exit; }`;
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=1
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:${c.port}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
${MODULES.map((m) => `loadmodule "${m}.so"`).join('\n')}
modparam("ctl", "binrpc", "unix:${controlSocket}")
modparam("usrloc", "db_mode", 0)
modparam("usrloc", "use_domain", 1)
modparam("registrar", "use_path", 0)
modparam("auth", "algorithm", "${c.algorithm}")
modparam("auth", "qop", "auth")

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (!is_method("REGISTER")) { sl_send_reply("405", "Method Not Allowed"); exit; }
  xlog("L_NOTICE", "REGISTER from $si:$sp auth=[$hdr(Authorization)] proxy-auth=[$hdr(Proxy-Authorization)]\\n");
  ${authenticate}
  if ($au != "${c.user}" || $tU != "${c.user}") { sl_send_reply("403", "Forbidden"); exit; }
  consume_credentials();
  if (!save("location")) { sl_reply_error(); }
  exit;
}
`;
}

export function startKamailio(carrier: KamailioCarrier): Kamailio {
  const bin = requireProgram('kamailio', 'kamailio');
  const kamcmd = requireProgram('kamcmd', 'kamailio');
  let control = '';
  const run = startProgram(bin, {
    name: 'kamailio',
    // -DD: the main process stays in the foreground (the PID we hold), -E: log to stderr, -Y: runtime dir,
    // small shared and private memory.
    args: (dir) => ['-DD', '-E', '-f', path.join(dir, 'kamailio.cfg'), '-Y', dir, '-P', path.join(dir, 'kamailio.pid'),
      '-m', '32', '-M', '4'],
    files: (dir) => {
      control = path.join(dir, 'kamailio_ctl');
      return { 'kamailio.cfg': script(carrier, control) };
    },
    maxRunMs: 120000,
  });
  return {
    ...run,
    ulDump: () => {
      const result = spawnSync(kamcmd, ['-s', `unix:${control}`, 'ul.dump'], { encoding: 'utf8', timeout: 5000 });
      return `${result.stdout}${result.stderr}`;
    },
    credentialsSeen: () => [...run.output().matchAll(/REGISTER from \S+ auth=\[([^\]]*)\] proxy-auth=\[([^\]]*)\]/g)]
      .flatMap(([, www, proxy]): { header: 'Authorization' | 'Proxy-Authorization'; value: string }[] => {
        // xlog prints <null> for a header the request lacks.
        if (www && www !== '<null>') return [{ header: 'Authorization', value: www }];
        if (proxy && proxy !== '<null>') return [{ header: 'Proxy-Authorization', value: proxy }];
        return [];
      }),
  };
}
