/**
 * The addresses of a carrier gateway given by a host name, in the order RFC 3263 tries them: the SRV
 * records of the transport (`_sip._udp`, `_sip._tcp`, `_sips._tcp`) by priority, then weight, each target's
 * A records with the SRV port; without SRV records, the host's A records with the default port. A host
 * with an explicit port skips SRV (RFC 3263 §4.2). One implementation for the REGISTER failover and for
 * the eph-gw-ip hashes of registration trunks.
 */
import { promises as dns } from 'node:dns';
import net from 'node:net';
import type { Random } from './refresh-schedule';
import type { RegisterTransport, RegistrationTarget } from './registration-target';

export interface GatewayAddress {
  ip: string;
  port: number;
}

export interface SrvAnswer {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

/** The part of node's dns.promises.Resolver used here (tests hand in their own). */
export interface DnsClient {
  resolveSrv(name: string): Promise<SrvAnswer[]>;
  resolve4(name: string, options: { ttl: true }): Promise<{ address: string; ttl: number }[]>;
}

export type AddressTarget = Pick<RegistrationTarget, 'transport' | 'host' | 'port'>;

/** node gives no TTL for SRV answers, and A TTLs of 0 or days are both unhelpful: cache within these. */
export const MIN_CACHE_SEC = 5;
export const MAX_CACHE_SEC = 300;

export function srvNameFor(target: Pick<AddressTarget, 'transport' | 'host'>): string {
  if (target.transport === 'tls') return `_sips._tcp.${target.host}`;
  return `_sip._${target.transport}.${target.host}`;
}

export function defaultPortOf(transport: RegisterTransport): number {
  return transport === 'tls' ? 5061 : 5060;
}

export function addressKey(address: GatewayAddress): string {
  return `${address.ip}:${address.port}`;
}

/**
 * RFC 2782 order: ascending priority; within one priority a weighted random draw, so that weight 60
 * against 40 is chosen first 60 % of the time. Records of weight 0 come after the weighted ones.
 */
export function orderSrv(records: readonly SrvAnswer[], random: Random): SrvAnswer[] {
  const priorities = [...new Set(records.map((record) => record.priority))].sort((a, b) => a - b);
  return priorities.flatMap((priority) => weightedOrder(records.filter((record) => record.priority === priority), random));
}

function weightedOrder(group: SrvAnswer[], random: Random): SrvAnswer[] {
  const remaining = [...group];
  const ordered: SrvAnswer[] = [];
  while (remaining.length > 0) {
    const total = remaining.reduce((sum, record) => sum + record.weight, 0);
    let index = Math.min(Math.floor(random() * remaining.length), remaining.length - 1);
    if (total > 0) {
      let draw = random() * total;
      index = remaining.findIndex((record) => record.weight > 0 && (draw -= record.weight) < 0);
      if (index < 0) index = remaining.findIndex((record) => record.weight > 0); // random() returned 1
    }
    ordered.push(...remaining.splice(index, 1));
  }
  return ordered;
}

export interface Resolution {
  addresses: GatewayAddress[];
  /** How long the answer may be reused, within MIN_CACHE_SEC..MAX_CACHE_SEC. */
  ttlSec: number;
}

/** Resolves a gateway host name; an IP literal is returned as is. DNS errors give an empty list. */
export async function resolveGateway(target: AddressTarget, client: DnsClient, random: Random): Promise<Resolution> {
  if (net.isIP(target.host)) return { addresses: [{ ip: target.host, port: target.port ?? defaultPortOf(target.transport) }], ttlSec: MAX_CACHE_SEC };
  const ttls: number[] = [];
  const addressesOf = async (name: string, port: number): Promise<GatewayAddress[]> => {
    const answers = await client.resolve4(name, { ttl: true }).catch(() => []);
    ttls.push(...answers.map((answer) => answer.ttl));
    return answers.map((answer) => ({ ip: answer.address, port }));
  };
  let addresses: GatewayAddress[] = [];
  if (target.port === null) {
    const srv = orderSrv(await client.resolveSrv(srvNameFor(target)).catch(() => []), random);
    // each target in order: the targets' lookups may run in parallel, their order may not change
    addresses = (await Promise.all(srv.map((record) => addressesOf(record.name, record.port)))).flat();
  }
  if (addresses.length === 0) addresses = await addressesOf(target.host, target.port ?? defaultPortOf(target.transport));
  return { addresses: unique(addresses), ttlSec: clampTtl(ttls) };
}

function unique(addresses: GatewayAddress[]): GatewayAddress[] {
  const seen = new Set<string>();
  return addresses.filter((address) => !seen.has(addressKey(address)) && seen.add(addressKey(address)));
}

function clampTtl(ttls: number[]): number {
  if (ttls.length === 0) return MIN_CACHE_SEC;
  return Math.min(MAX_CACHE_SEC, Math.max(MIN_CACHE_SEC, Math.min(...ttls)));
}

export interface GatewayAddressesOptions {
  /** `ip` or `ip:port` of the DNS servers to ask; empty: the system's resolvers. */
  servers?: string[];
  /** Instead of a node resolver (unit tests). */
  client?: DnsClient;
  now?: () => number;
  random?: Random;
}

/**
 * Resolutions cached per gateway host/port/transport until their TTL runs out, or until the registration
 * has tried every address of the list without success (forget), so a carrier's renumbering is seen soon.
 */
export class GatewayAddresses {
  private readonly client: DnsClient;
  private readonly now: () => number;
  private readonly random: Random;
  private readonly cache = new Map<string, { addresses: GatewayAddress[]; until: number }>();
  private readonly pending = new Map<string, Promise<GatewayAddress[]>>();

  constructor(options: GatewayAddressesOptions = {}) {
    this.client = options.client ?? systemClient(options.servers ?? []);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  async addressesOf(target: AddressTarget): Promise<GatewayAddress[]> {
    const key = cacheKey(target);
    const cached = this.cache.get(key);
    if (cached && cached.until > this.now()) return cached.addresses;
    // concurrent callers (registration and eph-gw-ip update) share one lookup
    const running = this.pending.get(key) ?? this.lookup(key, target);
    this.pending.set(key, running);
    return running;
  }

  forget(target: AddressTarget): void {
    this.cache.delete(cacheKey(target));
  }

  private async lookup(key: string, target: AddressTarget): Promise<GatewayAddress[]> {
    try {
      const { addresses, ttlSec } = await resolveGateway(target, this.client, this.random);
      this.dropExpired();
      this.cache.set(key, { addresses, until: this.now() + ttlSec * 1000 });
      return addresses;
    } finally {
      this.pending.delete(key);
    }
  }

  /** Gateways come and go; their entries should not stay forever. */
  private dropExpired(): void {
    const now = this.now();
    for (const [key, entry] of this.cache) if (entry.until <= now) this.cache.delete(key);
  }
}

function cacheKey(target: AddressTarget): string {
  return `${target.transport}|${target.host.toLowerCase()}|${target.port ?? ''}`;
}

function systemClient(servers: string[]): DnsClient {
  // a few seconds at most: a REGISTER attempt waits for this answer
  const resolver = new dns.Resolver({ timeout: 2000, tries: 2 });
  if (servers.length > 0) resolver.setServers(servers);
  return resolver;
}
