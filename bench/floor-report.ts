/**
 * The BENCHMARKS.md section of the floor comparison: each exchange's CPU for the floor and the service, in ms
 * and as a ratio, at each rate of the run.
 */
import { EXCHANGES, Exchange, FloorComparison, GOAL } from './floor-comparison';
import { fixed } from './bench-processes';

const NAMES: Record<Exchange, string> = {
  auth: 'Authenticated registration (REGISTER, 401, REGISTER, 200)',
  refresh: 'Refresh of a live binding (REGISTER, 200)',
  options: 'OPTIONS (200)',
};

const f = fixed;

export function floorSection(floor: (FloorComparison & { date: string; bestCleanRate?: number }) | undefined): string {
  if (!floor) return '## Against the floor\n\nNot measured yet: `npm run bench` (or `node dist/bench/run.js --only floor`).\n\n';
  const rates = [...new Set(floor.table.map((row) => row.rate))];
  const runsPerSide = floor.runs.filter((r) => r.side === 'floor' && r.rate === rates[0] && r.exchange === 'auth').length;
  const header = `| Exchange | ${rates.map((rate) => `${rate}/s${rate === floor.bestCleanRate ? ' (highest clean rate)' : ''}`).join(' | ')} | Goal |`;
  const rows = EXCHANGES.map((exchange) => {
    const cells = rates.map((rate) => {
      const row = floor.table.find((r) => r.rate === rate && r.exchange === exchange);
      if (!row) return 'n/a';
      const mark = row.ratio <= GOAL[exchange] ? '' : ' ✗';
      return `**${f(row.ratio, 2)}x**${mark} (${f(row.serviceMs)} / ${f(row.floorMs)} ms)${row.failures > 0 ? `, ${row.failures} failed` : ''}`;
    });
    return `| ${NAMES[exchange]} | ${cells.join(' | ')} | ≤ ${GOAL[exchange]}x |`;
  });
  return `## Against the floor

CPU per exchange of the service as a ratio to the floor's, measured in this run (${floor.date}), side by side:
**ratio** (service / floor ms). The floor (\`bench/floor-app.ts\`) is a drachtio-srf app that answers the same
exchanges with nothing behind them: a 401 with a fresh nonce, then a 200 echoing the Contact, with no hook, MySQL or
Redis; a 200 to a refresh of a Contact it granted; a 200 to OPTIONS. The two apps ran one at a time on the same drachtio,
alternating, ${runsPerSide} runs of ${floor.seconds} s each per side, rate and exchange (medians), after 3 s of warm-up per process.
✗ marks a ratio above the goal.

${header}
|---|${rates.map(() => '---|').join('')}---|
${rows.join('\n')}

${ROUND_TRIPS}
${profileSection(floor)}`;
}

/** Why the ratios are what they are: what each exchange sends and waits for, on each side. */
const ROUND_TRIPS = `What each exchange costs is mostly how many messages it sends and waits for: each write to a local socket
makes the kernel run the receiver's side of the network stack on the writer's CPU time, and each reply is another
wake-up of the process. Per exchange:

| Exchange | Floor | Service |
|---|---|---|
| Authenticated registration | 2 SIP messages in, 2 out | the same, plus 3 Redis round trips (the 401's ban and fast-path check; the second REGISTER's ban, fast-path, nonce-count and attempt check in one write; the binding script with the attempt's release) and 1 HTTP round trip to the hook |
| Refresh | 1 in, 1 out | the same, plus 1 Redis round trip (ban check and binding extension in one script) |
| OPTIONS | 1 in, 1 out | the same |

None of these round trips can go without dropping a check the service must keep (ban, nonce count, concurrent
guesses, the binding script, the hook), so the ratio of an authenticated registration stays above what the messages
alone cost the floor, and more so at low rates, where nothing is shared between requests.
`;

function profileSection(floor: FloorComparison & { date: string }): string {
  const profile = floor.profile;
  if (!profile) return '';
  const measured = floor.table.find((row) => row.rate === profile.rate && row.exchange === 'auth');
  const rows = profile.components.map(({ component, share }) =>
    `| ${component} | ${(share * 100).toFixed(1)} % |${measured ? ` ${f(share * measured.serviceMs)} ms |` : ''}`);
  return `Where the service's CPU per authenticated registration goes at ${profile.rate}/s, from a V8 CPU profile of one more run
(the profiler slows the service, so only the shares are taken from it${measured ? `, applied to the ${f(measured.serviceMs)} ms measured above` : ''}):

| Component | Share |${measured ? ' ms per registration |' : ''}
|---|---|${measured ? '---|' : ''}
${rows.join('\n')}

`;
}
