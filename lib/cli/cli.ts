#!/usr/bin/env node
/**
 * Operator CLI: `npm run cli -- fs drain 10.0.0.5`. Talks to the running sidecar over SBC_SOCKET_PATH.
 * Exit status 0 on success, 1 on any error (message on stderr). `--json` prints the raw reply.
 */
import { sendRequest } from './cli-client';
import { formatReply } from './cli-output';
import type { CliRequest } from './protocol';

const USAGE = [
  'SBC CLI',
  'Usage:',
  '  sbc-cli fs drain <ip>                  Drain feature server by IP',
  '  sbc-cli fs undrain <ip>                Undrain feature server by IP',
  '  sbc-cli fs drained                     List drained feature server IPs',
  '  sbc-cli fs active                      List active feature servers that are not drained',
  '  sbc-cli fs list                        List all feature servers with their state',
  '  sbc-cli registrations list [realm]     List live registrations (of one realm)',
  '  sbc-cli registrations show <aor>       Show one registration (user@realm)',
  '  sbc-cli regbot status                  Carrier gateways to register: owner, state, last response, next refresh',
  'Options: --json prints the raw reply. SBC_SOCKET_PATH selects the socket (default /tmp/sbc-sip-sidecar.sock).',
];

/** A command-line mistake; `message` is printed as is (jambonz's CLI prefixes only some with "Error:"). */
class UsageError extends Error {}

/** The request for the command line, or a UsageError with the reference's wording. */
export function buildRequest(args: string[]): { command: string; request: CliRequest } {
  const [group, sub, arg] = args;
  if (group === 'fs') return fsRequest(sub, arg);
  if (group === 'registrations') return registrationRequest(sub, arg);
  if (group === 'regbot') return regbotRequest(sub);
  throw new UsageError(`Unknown command: ${group}`);
}

function fsRequest(sub: string | undefined, arg: string | undefined): { command: string; request: CliRequest } {
  const simple: Record<string, CliRequest['action']> = { drained: 'fs-drained', active: 'fs-available', list: 'fs-list' };
  if (sub === undefined) throw new UsageError('fs needs: drain, undrain, drained, active, or list');
  if (sub === 'drain' || sub === 'undrain') {
    if (!arg) throw new UsageError(`Error: ${sub} requires server IP address`);
    return { command: `fs ${sub}`, request: { action: sub === 'drain' ? 'fs-drain' : 'fs-undrain', server: arg } };
  }
  if (simple[sub]) return { command: `fs ${sub}`, request: { action: simple[sub] } };
  throw new UsageError(`Unknown command: ${sub}`);
}

function registrationRequest(sub: string | undefined, arg: string | undefined): { command: string; request: CliRequest } {
  if (sub === 'list') return { command: 'registrations list', request: { action: 'registrations-list', realm: arg } };
  if (sub === 'show') {
    if (!arg) throw new UsageError('Error: show requires an address of record (user@realm)');
    return { command: 'registrations show', request: { action: 'registrations-show', aor: arg } };
  }
  throw new UsageError(sub === undefined ? 'registrations needs: list or show' : `Unknown command: ${sub}`);
}

function regbotRequest(sub: string | undefined): { command: string; request: CliRequest } {
  if (sub === 'status') return { command: 'regbot status', request: { action: 'regbot-status' } };
  throw new UsageError(sub === undefined ? 'regbot needs: status' : `Unknown command: ${sub}`);
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  if (args.length === 0) {
    console.log(USAGE.join('\n'));
    return 0;
  }
  const { command, request } = buildRequest(args);
  const reply = await sendRequest(process.env.SBC_SOCKET_PATH || '/tmp/sbc-sip-sidecar.sock', request);
  if (!reply.success) {
    console.error(`Error: ${reply.error ?? 'command failed'}`);
    return 1;
  }
  console.log(json ? JSON.stringify(reply) : formatReply(command, reply).join('\n'));
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: Error) => {
    console.error(err instanceof UsageError ? err.message : `Error: ${err.message}`);
    process.exitCode = 1;
  });
}
