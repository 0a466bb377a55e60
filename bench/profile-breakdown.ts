/**
 * Where a process's CPU went, by component, from a V8 CPU profile (`--cpu-prof`): each sample's time goes to
 * the nearest frame on its stack that belongs to a component, so a socket write made for ioredis counts for
 * Redis and one made by drachtio-srf for drachtio. Native time not under JavaScript (the garbage collector,
 * V8's own work) is its own row. Run alone: `node dist/bench/profile-breakdown.js <file.cpuprofile>`.
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Component names, in the order the report lists them when their shares tie. */
const COMPONENTS: Array<[string, (url: string) => boolean]> = [
  ['SIP over the drachtio connection (drachtio-srf: parse, build, socket reads and writes)', (u) => u.includes('/drachtio-srf/')],
  // lib/store/redis-client.js uncorks the connection once a tick: the socket writes of every command sent in it
  ['Redis (ioredis: commands, replies, socket reads and writes)', (u) => /\/(ioredis|redis-parser|denque|standard-as-callback|cluster-key-slot)\//.test(u)
    || u.includes('/lib/store/redis-client')],
  ['registration hook (HTTP client, request body, signature, reply)', (u) => u.startsWith('node:_http') || u.includes('/lib/hook/')],
  ['outcome log lines (pino)', (u) => /\/(pino|sonic-boom|pino-std-serializers|fast-redact|quick-format-unescaped)\//.test(u) || u.includes('/lib/ops/logger')],
  ['metrics (prom-client, minute buckets)', (u) => u.includes('/prom-client/') || u.includes('/lib/ops/metrics') || u.includes('/lib/ops/register-minute-recorder')],
  ['MySQL (mysql2)', (u) => u.includes('/mysql2/')],
  ['Redis scripts\' arguments and replies (lib/store)', (u) => u.includes('/lib/store/')],
  ['REGISTER and OPTIONS logic (lib/registrar, lib/options)', (u) => u.includes('/lib/registrar/') || u.includes('/lib/options/')],
  ['our SIP parsing, routing and answer ledger (lib/sip, lib/drachtio)', (u) => u.includes('/lib/sip/') || u.includes('/lib/drachtio/')],
  ['module loading (start-up)', (u) => u.startsWith('node:internal/modules') || u.includes('internal/bootstrap')],
];

const OTHER = 'the event loop and the rest of Node (timers, promises, streams not attributed above)';
const GC = 'garbage collection';
const NATIVE = 'V8 and native code outside JavaScript';

function componentOf(node: ProfileNode): string | undefined {
  const { url, functionName } = node.callFrame;
  if (functionName === '(garbage collector)') return GC;
  if (functionName === '(program)') return NATIVE;
  for (const [name, matches] of COMPONENTS) if (matches(url)) return name;
  return undefined;
}

/** ms of CPU (samples' time, idle left out) per component, largest first. */
export function breakdown(profile: CpuProfile): Array<{ component: string; ms: number }> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const totals = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    let id: number | undefined = profile.samples[i];
    const leaf = byId.get(id);
    if (!leaf || leaf.callFrame.functionName === '(idle)') continue;
    let component: string | undefined;
    while (id !== undefined && !component) {
      const node = byId.get(id);
      component = node ? componentOf(node) : undefined;
      id = parentOf.get(id);
    }
    const name = component ?? OTHER;
    totals.set(name, (totals.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  return [...totals].map(([component, ms]) => ({ component, ms })).sort((a, b) => b.ms - a.ms);
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
}

if (require.main === module) {
  const rows = breakdown(readProfile(process.argv[2]));
  const total = rows.reduce((sum, row) => sum + row.ms, 0);
  for (const row of rows) console.log(`${row.ms.toFixed(0).padStart(7)} ms ${((100 * row.ms) / total).toFixed(1).padStart(5)} %  ${row.component}`);
}
