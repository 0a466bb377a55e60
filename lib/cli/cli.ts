#!/usr/bin/env node
/**
 * Operator CLI: `npm run cli fs drain 10.0.0.5`. Talks to the running sidecar over SBC_SOCKET_PATH.
 * Exit status 0 on success, 1 on any error (`Error: <message>` on stderr). `--json` prints the raw reply.
 * Commands, requests, printed text and error wording are those of jambonz's sidecar CLI, so scripts that read
 * them keep working; `registrations`, `regbot` and `--json` are ours.
 */
import { sendRequest } from './cli-client';
import { formatReply } from './cli-output';
import type { CliRequest } from './protocol';

const USAGE = [
  'SBC Runtime CLI',
  '',
  'Usage:',
  '  npm run cli <command> [options]',
  '',
  'Feature Server Commands:',
  '  npm run cli fs drain <ip>               Take a feature server out of the pool (by IP)',
  '  npm run cli fs undrain <ip>             Put a drained feature server back',
  '  npm run cli fs drained                  Drained feature server IPs',
  '  npm run cli fs active                   Active feature servers that are not drained',
  '  npm run cli fs list                     Every active feature server with its state',
  '',
  'Configuration Commands:',
  '  npm run cli set <key> <value>           Store a runtime setting (this instance, in memory)',
  '  npm run cli get <key>                   Show one runtime setting',
  '  npm run cli list                        Show every runtime setting',
  '',
  'Registration Commands:',
  '  npm run cli registrations list [realm]  Live registrations (of one realm)',
  '  npm run cli registrations show <aor>    One registration (user@realm)',
  '',
  'Regbot Commands:',
  '  npm run cli regbot status               Carrier gateways to register: owner, state, last response, next refresh',
  '',
  'Options:',
  '  --json                                  Print the raw reply',
  'SBC_SOCKET_PATH selects the socket (default /tmp/sbc-sip-sidecar.sock).',
];

/** A command-line mistake: printed as `Error: <message>`, exit status 1. */
class UsageError extends Error {}

interface Command { command: string; request: CliRequest }

/** The request for the command line, or a UsageError with the reference's wording. */
export function buildRequest(args: string[]): Command {
  const [group, ...rest] = args;
  switch (group) {
    case 'fs': return fsRequest(rest);
    case 'set': case 'get': case 'list': return configRequest(group, rest);
    case 'registrations': return registrationRequest(rest);
    case 'regbot': return regbotRequest(rest);
    default: throw new UsageError(`Unknown command: ${group}. Run without arguments for help.`);
  }
}

function fsRequest([sub, server]: string[]): Command {
  const simple: Record<string, CliRequest['action']> = { drained: 'fs-drained', active: 'fs-available', list: 'fs-list' };
  if (sub === undefined) throw new UsageError('fs command requires an action');
  if (sub === 'drain' || sub === 'undrain') {
    if (!server) throw new UsageError(`${sub} requires server IP address`);
    return { command: `fs ${sub}`, request: { action: sub === 'drain' ? 'fs-drain' : 'fs-undrain', server } };
  }
  if (Object.hasOwn(simple, sub)) return { command: `fs ${sub}`, request: { action: simple[sub] } };
  throw new UsageError(`Unknown fs command: ${sub}. Use: drain, undrain, drained, active, list`);
}

function configRequest(action: 'set' | 'get' | 'list', [key, value]: string[]): Command {
  if (action === 'set' && value === undefined) throw new UsageError('set requires key and value');
  if (action === 'get' && key === undefined) throw new UsageError('get requires key');
  const request: CliRequest = action === 'set' ? { action, key, value } : action === 'get' ? { action, key } : { action };
  return { command: action, request };
}

function registrationRequest([sub, arg]: string[]): Command {
  if (sub === 'list') return { command: 'registrations list', request: { action: 'registrations-list', realm: arg } };
  if (sub === 'show') {
    if (!arg) throw new UsageError('show requires an address of record (user@realm)');
    return { command: 'registrations show', request: { action: 'registrations-show', aor: arg } };
  }
  if (sub === undefined) throw new UsageError('registrations command requires an action');
  throw new UsageError(`Unknown registrations command: ${sub}. Use: list, show`);
}

function regbotRequest([sub]: string[]): Command {
  if (sub === 'status') return { command: 'regbot status', request: { action: 'regbot-status' } };
  if (sub === undefined) throw new UsageError('regbot command requires an action');
  throw new UsageError(`Unknown regbot command: ${sub}. Use: status`);
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
    console.error(`Error: ${err.message}`);
    process.exitCode = 1;
  });
}
