import net from 'node:net';
import type Redis from 'ioredis';
import { keys } from '../store/keys';
import type { CliReply } from './protocol';

/**
 * Feature-server drain: `<cluster>:drained-fs` holds IPs; a drained server's check-ins count as closed,
 * so it leaves `<cluster>:active-fs` on its next ping and gets no new calls.
 */
export class FsCommands {
  constructor(private readonly redis: Redis, private readonly cluster: string) {}

  async drain(server: string | undefined): Promise<CliReply> {
    const invalid = invalidIp(server);
    if (invalid) return invalid;
    await this.redis.sadd(this.drainedKey, server as string);
    return { success: true, action: 'drain', server, drained: await this.drained() };
  }

  async undrain(server: string | undefined): Promise<CliReply> {
    const invalid = invalidIp(server);
    if (invalid) return invalid;
    await this.redis.srem(this.drainedKey, server as string);
    return { success: true, action: 'undrain', server, drained: await this.drained() };
  }

  async listDrained(): Promise<CliReply> {
    return { success: true, drained: await this.drained() };
  }

  /** Active feature servers that are not drained. */
  async available(): Promise<CliReply> {
    const drained = new Set(await this.drained());
    const active = await this.active();
    return { success: true, available: active.filter((server) => !drained.has(hostOf(server))) };
  }

  /**
   * Every active server with its state, and the drained IPs. Active entries are `ip:port` and drained ones
   * bare IPs, so they are matched by IP (the reference compared the strings and never found a match).
   */
  async list(): Promise<CliReply> {
    const drained = await this.drained();
    const drainedSet = new Set(drained);
    const servers = (await this.active()).map((server) =>
      ({ server, status: drainedSet.has(hostOf(server)) ? 'drained' : 'active' }));
    return { success: true, servers, drained };
  }

  private get drainedKey(): string {
    return keys.drainedFeatureServers(this.cluster);
  }

  private async drained(): Promise<string[]> {
    return (await this.redis.smembers(this.drainedKey)).sort();
  }

  private async active(): Promise<string[]> {
    return (await this.redis.smembers(keys.activeFeatureServers(this.cluster))).sort();
  }
}

function invalidIp(server: string | undefined): CliReply | undefined {
  if (server === undefined || server === '') return { success: false, error: 'server IP address is required' };
  return net.isIP(server) === 0 ? { success: false, error: `Invalid IP address: ${server}` } : undefined;
}

/** `10.0.0.5:5060` → `10.0.0.5`; a bare IP (v4 or v6) is returned as is. */
export function hostOf(member: string): string {
  if (net.isIP(member) !== 0) return member;
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(member);
  if (bracketed) return bracketed[1];
  const colon = member.lastIndexOf(':');
  return colon > 0 ? member.slice(0, colon) : member;
}
