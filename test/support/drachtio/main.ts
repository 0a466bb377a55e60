/**
 * Runs one drachtio-server stand-in as its own process:
 *
 *   node dist/test/support/drachtio/main.js --secret cymru --admin-port 9022 --sip-port 5060 [--ws-port N] [--host 127.0.0.1]
 *
 * Prints one JSON line `{"adminPort":..,"sipPort":..,"wsPort":..}` when ready and stops cleanly on SIGTERM/SIGINT.
 * `--debug` traces the admin and SIP traffic on stderr.
 */
import { DrachtioStandIn, StandInOptions } from './index';

function parseArgs(argv: string[]): StandInOptions {
  const opts: StandInOptions = { secret: '' };
  const number = (value: string | undefined, flag: string): number => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag} needs a port number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    switch (flag) {
      case '--secret': opts.secret = value ?? ''; i++; break;
      case '--host': opts.host = value; i++; break;
      case '--admin-port': opts.adminPort = number(value, flag); i++; break;
      case '--sip-port': opts.sipPort = number(value, flag); i++; break;
      case '--ws-port': opts.wsPort = number(value, flag); i++; break;
      case '--external-ip': opts.externalIp = value; i++; break;
      case '--debug': opts.log = (line) => process.stderr.write(`${line}\n`); break;
      default: throw new Error(`unknown argument: ${flag}`);
    }
  }
  if (!opts.secret) throw new Error('--secret is required');
  return opts;
}

async function main(): Promise<void> {
  const standIn = new DrachtioStandIn(parseArgs(process.argv.slice(2)));
  await standIn.start();
  process.stdout.write(`${JSON.stringify({ adminPort: standIn.adminPort, sipPort: standIn.sipPort, wsPort: standIn.wsPort ?? null })}\n`);
  const shutdown = (): void => {
    standIn.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err: Error) => {
  process.stderr.write(`drachtio stand-in: ${err.message}\n`);
  process.exit(2);
});
