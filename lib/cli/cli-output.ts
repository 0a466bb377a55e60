import type { CliReply } from './protocol';

/**
 * Human-readable lines for each reply, in the wording of jambonz's CLI where it has one (operators' scripts read
 * those lines: headings, icons, `key = <JSON value>`).
 */
export function formatReply(command: string, reply: CliReply): string[] {
  switch (command) {
    case 'fs drain': return [`✓ Drained ${String(reply.server)}`, `Drained servers: [${strings(reply.drained).join(', ')}]`];
    case 'fs undrain': return [`✓ Undrained ${String(reply.server)}`, `Drained servers: [${strings(reply.drained).join(', ')}]`];
    case 'fs drained': return listOrNone('Drained servers:', 'No servers are currently drained', strings(reply.drained), '🔴');
    case 'fs active': return listOrNone('Available feature servers:', 'No active feature servers found', strings(reply.available), '🟢');
    case 'fs list': return formatFsList(reply);
    case 'set': return [`✓ ${String(reply.key)} = ${jsonText(reply.value)}`];
    case 'get': return [`${String(reply.key)} = ${jsonText(reply.value)}`];
    case 'list': return formatConfig(reply);
    case 'registrations list': return formatRegistrations(reply);
    case 'regbot status': return formatRegbotStatus(reply);
    default: return [JSON.stringify(reply, null, 2)];
  }
}

/** Active servers with their state; drained IPs that match no active server are listed as orphaned after them. */
function formatFsList(reply: CliReply): string[] {
  const servers = Array.isArray(reply.servers) ? reply.servers as { server: string; status: string }[] : [];
  const drained = strings(reply.drained);
  const lines = servers.length === 0 ? ['No servers configured'] : ['Feature servers:',
    ...servers.map(({ server, status }) => `  ${status === 'drained' ? '🔴' : '🟢'} ${server} (${status})`)];
  const orphaned = drained.filter((ip) => !servers.some(({ server }) => server === ip || server.startsWith(`${ip}:`)
    || server.startsWith(`[${ip}]:`)));
  if (orphaned.length > 0) lines.push('Orphaned drained servers:', ...orphaned.map((ip) => `  🔴 ${ip} (orphaned)`));
  return lines;
}

function formatConfig(reply: CliReply): string[] {
  const config = reply.config && typeof reply.config === 'object' ? Object.entries(reply.config) : [];
  return ['Runtime Configuration:',
    ...(config.length === 0 ? ['  (no configuration set)'] : config.map(([key, value]) => `  ${key} = ${jsonText(value)}`))];
}

/** A value as JSON text; an absent one (a key never set) reads `undefined`, as in the reference's output. */
function jsonText(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value);
}

interface RegistrationLine { aor: string; contact: string; protocol: string | null; expiresIn: number }

function formatRegistrations(reply: CliReply): string[] {
  const rows = Array.isArray(reply.registrations) ? reply.registrations as RegistrationLine[] : [];
  const scope = reply.realm ? ` in ${String(reply.realm)}` : '';
  if (rows.length === 0) return [`No registrations${scope}`];
  const lines = [`Registrations${scope}: ${String(reply.total)}`,
    ...rows.map((r) => `  ${r.aor}  ${r.protocol ?? '-'}  ${r.contact}  expires in ${r.expiresIn} s`)];
  if (reply.truncated) lines.push(`  ... ${Number(reply.total) - rows.length} more`);
  return lines;
}

interface RegbotGatewayLine {
  gatewaySid: string; carrierName: string; aor?: string; owner?: string; ownedHere: boolean; state: string;
  source: string; lastResponse?: string; lastResponseAt?: string; nextRefresh?: string; note?: string;
}

const REGBOT_COLUMNS = ['GATEWAY', 'CARRIER', 'AOR', 'OWNER', 'STATE', 'LAST RESPONSE', 'AT', 'NEXT REFRESH'];

/** One line per gateway in aligned columns; "(this)" marks the instance that answered, "*" a database-only state. */
function formatRegbotStatus(reply: CliReply): string[] {
  const gateways = Array.isArray(reply.gateways) ? reply.gateways as RegbotGatewayLine[] : [];
  const live = strings(reply.liveInstances);
  const header = [`regbot on ${String(reply.instanceId)} (${String(reply.mode)}), ${live.length} live instance(s), `
    + `${gateways.length} gateway(s) to register`];
  if (gateways.length === 0) return header;
  const rows = gateways.map((g) => [
    g.gatewaySid, g.carrierName, g.aor ?? '-',
    g.owner === undefined ? '-' : `${g.owner}${g.ownedHere ? ' (this)' : ''}`,
    `${g.state}${g.source === 'database' ? '*' : ''}`,
    g.lastResponse || '-', g.lastResponseAt ?? '-', g.nextRefresh ?? (g.note ? `(${g.note})` : '-'),
  ]);
  const widths = REGBOT_COLUMNS.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  const lines = [...header, line(REGBOT_COLUMNS), ...rows.map(line)];
  if (gateways.some((g) => g.source === 'database')) {
    lines.push('* from register_status in MySQL (written by the owner after its last response), not live state');
  }
  return lines;
}

function listOrNone(title: string, none: string, items: string[], icon: string): string[] {
  return items.length === 0 ? [none] : [title, ...items.map((item) => `  ${icon} ${item}`)];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}
