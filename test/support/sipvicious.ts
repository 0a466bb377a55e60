/**
 * SIPVicious (Debian `sipvicious`), the scanner most SIP brute-force traffic comes from: `svwar` enumerates
 * extensions by comparing each name's answer with the answer to a random name, `svcrack` guesses a user's
 * password from a dictionary. Both bind 0.0.0.0 on the port given (they ignore --bindingip), so every run
 * gets a free port of its own; their requests come from 127.0.0.1 when aimed at the stand-in there.
 */
import { requireProgram, startProgram } from './child-program';
import { findFreePort } from './sipp';

export interface SvTarget {
  /** The stand-in's SIP port on 127.0.0.1. */
  port: number;
  /** The domain written into the requests (the account's realm). */
  domain: string;
}

export interface SvwarResult {
  /** Extensions svwar reports as existing. */
  found: string[];
  /** Every response svwar received (its --debug output), CRLF line ends. */
  responses: string[];
  output: string;
}

/**
 * One svwar run for one name: svwar first sends a request for a random number and takes that answer as the
 * "unknown user" answer, then reports every name whose answer differs. --force makes it scan even when
 * that first answer is a challenge (it would otherwise stop and say nothing).
 */
export async function runSvwar(target: SvTarget, name: string, method: 'REGISTER' | 'OPTIONS' = 'REGISTER'): Promise<SvwarResult> {
  const bin = requireProgram('svwar', 'sipvicious');
  const localPort = await findFreePort();
  const run = startProgram(bin, {
    name: 'svwar',
    args: ['-d', 'names.txt', '-m', method, '--force', '--debug', '-v', '--domain', target.domain,
      '-P', String(localPort), '-x', '127.0.0.1', '-p', String(target.port), '127.0.0.1'],
    files: { 'names.txt': `${name}\n` },
    maxRunMs: 30000,
  });
  await run.waitForExit(30000);
  const output = run.output();
  await run.stop();
  return { found: foundExtensions(output), responses: debugResponses(output), output };
}

/** svwar's result table: `| <extension> | <answer> |` rows after the header row. */
function foundExtensions(output: string): string[] {
  return [...output.matchAll(/^\| (\S+)\s+\| (\S+)\s+\|$/gm)].map((m) => m[1]).filter((ext) => ext !== 'Extension');
}

/** --debug prints each received datagram as a Python bytes literal (b'...' or b"..."). */
function debugResponses(output: string): string[] {
  return [...output.matchAll(/^b(['"])(SIP\/2\.0 .*)\1$/gm)].map((m) => m[2]
    .replace(/\\r/g, '\r').replace(/\\n/g, '\n').replace(/\\'/g, '\'').replace(/\\\\/g, '\\'));
}

export interface SvcrackResult {
  /** The password svcrack reports, if it found one. */
  cracked?: string;
  output: string;
}

/** svcrack against `user` with `passwords` as its dictionary, bounded by `maxRunMs`. */
export async function runSvcrack(target: SvTarget, user: string, passwords: string[], maxRunMs = 30000): Promise<SvcrackResult> {
  const bin = requireProgram('svcrack', 'sipvicious');
  const localPort = await findFreePort();
  const run = startProgram(bin, {
    name: 'svcrack',
    args: ['-u', user, '-d', 'passwords.txt', '-v', '--domain', target.domain, '--maximumtime', '3',
      '-P', String(localPort), '-x', '127.0.0.1', '-p', String(target.port), '127.0.0.1'],
    files: { 'passwords.txt': `${passwords.join('\n')}\n` },
    maxRunMs,
  });
  await run.exited;
  const output = run.output();
  await run.stop();
  return { cracked: /The password for \S+ is (\S+)/.exec(output)?.[1], output };
}
