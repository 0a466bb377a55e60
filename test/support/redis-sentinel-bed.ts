/**
 * A Redis deployment as jambonz clusters run it, made of real Debian processes: a master, a replica and three
 * Sentinels, each on its own free port with its own temp directory, started and killed by PID. Nothing here
 * touches the shared Redis on 6379.
 *
 * Each data node is reached through a link of its own (a TCP forwarder in this process, on another port,
 * which the node announces as its address): Sentinels, the service and the replica all talk to a node
 * through its link, as across a network. That lets a test hold the replication stream back (`holdReplication`),
 * as a lagging replica or a network blip does, so that writes the master acknowledged are not on the replica
 * when the master dies. Killing a node refuses its link too, so clients see what they see of a dead host.
 *
 * Sentinels declare the master down after `downAfterMs` without an answer; with two of three agreeing, one
 * of them promotes the replica. `restartAsReplica()` brings a killed node back as a replica of the new master.
 * The bench uses the same bed without Sentinels or links: a master and a replica, connected directly.
 */
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { findFreePort } from './sipp';

export const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN || 'redis-server';
export const REDIS_SENTINEL_BIN = process.env.REDIS_SENTINEL_BIN || 'redis-sentinel';
export const MASTER_NAME = 'sidecar-test';
/**
 * `down-after-milliseconds`. Sentinels ping every second, and right after a failover one of them may wait about
 * that long for its first answer from the new master: 1000 ms made them declare a healthy new master down now
 * and then (a second, needless failover); 2000 leaves a margin on a loaded machine.
 */
export const DOWN_AFTER_MS = 2000;

export interface RedisNode {
  name: string;
  /** The port the process listens on. */
  port: number;
  /** Sentinels only: their own port. Data nodes: the link's port, which everyone uses. */
  address: number;
  dir: string;
  args: string[];
  bin: string;
  proc?: ChildProcess;
  link?: NodeLink;
}

export interface SentinelBedOptions {
  /** `sentinel down-after-milliseconds`: how long the master may be silent before it is considered down. */
  downAfterMs?: number;
  /** `sentinel failover-timeout`; a second failover of the same master waits twice this after the first. */
  failoverTimeoutMs?: number;
  /** false: only the master and its replica (the bench measures WAIT on them); default true. */
  sentinels?: boolean;
  /** false: every client talks to the nodes directly, with nothing in between to hold back; default true. */
  links?: boolean;
}

export class RedisSentinelBed {
  readonly nodes: RedisNode[] = [];
  private readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'sentinel-bed-'));
  private readonly exitLog: string[] = [];

  private constructor(private readonly opts: Required<SentinelBedOptions>) {}

  /** Starts master, replica and three Sentinels, and resolves once the replica is in sync and every Sentinel knows all. */
  static async start(opts: SentinelBedOptions = {}): Promise<RedisSentinelBed> {
    const bed = new RedisSentinelBed({ downAfterMs: opts.downAfterMs ?? DOWN_AFTER_MS, failoverTimeoutMs: opts.failoverTimeoutMs ?? 4000,
      sentinels: opts.sentinels ?? true, links: opts.links ?? true });
    try {
      await bed.launch();
    } catch (err) {
      await bed.stop();
      throw err;
    }
    return bed;
  }

  /** `host:port,...` for JAMBONES_REDIS_SENTINELS. */
  get sentinelList(): string {
    return this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
  }

  get sentinels(): RedisNode[] {
    return this.nodes.filter((n) => n.name.startsWith('sentinel'));
  }

  get dataNodes(): RedisNode[] {
    return this.nodes.filter((n) => !n.name.startsWith('sentinel'));
  }

  /** The data node the first answering Sentinel names master. */
  async master(): Promise<RedisNode> {
    const address = await this.masterAddressBySentinels();
    const found = this.dataNodes.find((n) => n.address === address);
    if (!found) throw new Error(`Sentinels name an unknown master on ${address}`);
    return found;
  }

  /** SIGKILL, by PID, and the node's link refuses connections from then on; resolves once the process is gone. */
  async kill(node: RedisNode): Promise<void> {
    const proc = node.proc;
    node.link?.refuse();
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    process.kill(proc.pid as number, 'SIGKILL');
    await exited;
  }

  /** Starts a killed data node again as a replica of `master`; resolves once it is in sync. */
  async restartAsReplica(node: RedisNode, master: RedisNode): Promise<void> {
    node.args = [...dataArgs(node, node.dir), '--replicaof', '127.0.0.1', String(master.address)];
    this.spawnNode(node);
    await node.link?.accept();
    await waitFor(async () => (await this.replicaInSync(node)) || undefined, 15000, `${node.name} in sync with ${master.name}`);
  }

  /**
   * Resolves with the new master once every Sentinel names another node than `old` and it answers as master.
   * `onFirst` is called as soon as one Sentinel names it (what a client asking the Sentinels would see).
   */
  async waitForFailover(old: RedisNode, onFirst: () => void = () => undefined, timeoutMs = 15000): Promise<RedisNode> {
    let first = false;
    return waitFor(async () => {
      const named = await Promise.all(this.sentinels.map((s) => this.masterAddressOf(s).catch(() => undefined)));
      const nodes = named.map((address) => this.dataNodes.find((n) => n.address === address));
      const promoted = nodes.find((n) => n !== undefined && n !== old);
      if (!promoted || (await this.role(promoted)) !== 'master') return undefined;
      if (!first) onFirst();
      first = true;
      return nodes.every((n) => n === promoted) ? promoted : undefined;
    }, timeoutMs, 'the Sentinels to promote the replica');
  }

  /** 'master', 'slave' or undefined when the node does not answer. */
  async role(node: RedisNode): Promise<string | undefined> {
    return this.ask(node.address, async (client) => String((await client.call('ROLE') as unknown[])[0])).catch(() => undefined);
  }

  /**
   * From now on the link of `master` stops passing the replication stream to its replicas (new replication
   * connections included); commands and the replicas' acknowledgements still flow. What it holds back is
   * dropped with the master's death, as a replica lagging behind loses it.
   */
  holdReplication(master: RedisNode): void {
    master.link?.holdReplication(true);
  }

  releaseReplication(master: RedisNode): void {
    master.link?.holdReplication(false);
  }

  /** Runs `use` with a plain client on `port` (a link's or a Sentinel's), then disconnects it. */
  async ask<T>(port: number, use: (client: Redis) => Promise<T>, db = 0): Promise<T> {
    const client = new Redis({ host: '127.0.0.1', port, db, lazyConnect: false, maxRetriesPerRequest: 0, retryStrategy: () => null,
      connectTimeout: 1000, enableOfflineQueue: true });
    // A node being down is what these probes find out; its errors come back through the commands.
    client.on('error', () => undefined);
    try {
      return await use(client);
    } finally {
      client.disconnect();
    }
  }

  /** Why nodes exited unexpectedly, for failure messages. */
  get exits(): string[] {
    return this.exitLog;
  }

  /** Kills every process (SIGKILL, by PID), closes the links and removes the temp directories (kept with SENTINEL_BED_KEEP=1). */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n)));
    if (process.env.SENTINEL_BED_KEEP === '1') process.stderr.write(`sentinel bed kept in ${this.root}\n`);
    else fs.rmSync(this.root, { recursive: true, force: true });
  }

  private async masterAddressBySentinels(): Promise<number> {
    for (const sentinel of this.sentinels) {
      const address = await this.masterAddressOf(sentinel).catch(() => undefined);
      if (address !== undefined) return address;
    }
    throw new Error('no Sentinel answered');
  }

  private async masterAddressOf(sentinel: RedisNode): Promise<number> {
    const reply = await this.ask(sentinel.port, (client) =>
      client.call('SENTINEL', 'get-master-addr-by-name', MASTER_NAME) as Promise<string[] | null>);
    if (!reply) throw new Error(`${sentinel.name} knows no master`);
    return Number(reply[1]);
  }

  private async launch(): Promise<void> {
    const { links, sentinels } = this.opts;
    for (const bin of sentinels ? [REDIS_SERVER_BIN, REDIS_SENTINEL_BIN] : [REDIS_SERVER_BIN]) {
      if (spawnSync(bin, ['--version']).status !== 0) throw new Error(`${bin} not found (Debian: apt-get install redis-server redis-sentinel)`);
    }
    const [masterPort, masterLink, replicaPort, replicaLink, ...sentinelPorts] = await distinctFreePorts(sentinels ? 7 : 4);
    const master = this.addNode('redis-a', REDIS_SERVER_BIN, masterPort, links ? masterLink : masterPort, (node, dir) => dataArgs(node, dir));
    this.addNode('redis-b', REDIS_SERVER_BIN, replicaPort, links ? replicaLink : replicaPort,
      (node, dir) => [...dataArgs(node, dir), '--replicaof', '127.0.0.1', String(master.address)]);
    for (const [i, port] of sentinelPorts.entries()) {
      this.addNode(`sentinel-${i + 1}`, REDIS_SENTINEL_BIN, port, port, (_node, dir) => [this.sentinelConfig(dir, port, master.address)]);
    }
    for (const node of this.dataNodes) {
      if (links) {
        node.link = new NodeLink(node.address, node.port);
        await node.link.accept();
      }
      this.spawnNode(node);
    }
    await waitFor(async () => (await this.replicaInSync(this.dataNodes[1])) || undefined, 15000, 'the replica to sync with the master');
    if (!sentinels) return;
    for (const node of this.sentinels) this.spawnNode(node);
    await waitFor(async () => (await this.sentinelsReady()) || undefined, 20000, 'every Sentinel to know the replica and the other Sentinels');
    if ((await this.master()) !== master) throw new Error('Sentinels name the wrong master');
  }

  private addNode(name: string, bin: string, port: number, address: number,
    args: (node: RedisNode, dir: string) => string[]): RedisNode {
    const dir = path.join(this.root, name);
    fs.mkdirSync(dir);
    const node: RedisNode = { name, port, address, dir, bin, args: [] };
    node.args = args(node, dir);
    this.nodes.push(node);
    return node;
  }

  private sentinelConfig(dir: string, port: number, masterAddress: number): string {
    const file = path.join(dir, 'sentinel.conf');
    fs.writeFileSync(file, [
      `port ${port}`,
      'bind 127.0.0.1',
      'daemonize no',
      `dir ${dir}`,
      `logfile ${path.join(dir, 'sentinel.log')}`,
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterAddress} 2`,
      `sentinel down-after-milliseconds ${MASTER_NAME} ${this.opts.downAfterMs}`,
      `sentinel failover-timeout ${MASTER_NAME} ${this.opts.failoverTimeoutMs}`,
      `sentinel parallel-syncs ${MASTER_NAME} 1`,
      '',
    ].join('\n'));
    return file;
  }

  private spawnNode(node: RedisNode): void {
    const proc = spawn(node.bin, node.args, { cwd: node.dir, stdio: 'ignore' });
    proc.on('error', (err) => this.exitLog.push(`${node.name}: ${err.message}`));
    proc.on('exit', (code, signal) => { if (signal !== 'SIGKILL') this.exitLog.push(`${node.name} exited (${code ?? signal})`); });
    node.proc = proc;
  }

  /** True once `node` replicates and its link to its master is up. */
  async replicaInSync(node: RedisNode): Promise<boolean> {
    const info = await this.ask(node.address, (client) => client.info('replication')).catch(() => '');
    return /master_link_status:up/.test(info);
  }

  private async sentinelsReady(): Promise<boolean> {
    for (const sentinel of this.sentinels) {
      const fields = await this.ask(sentinel.port, (client) => client.call('SENTINEL', 'master', MASTER_NAME) as Promise<string[]>)
        .catch(() => []);
      const info = Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])));
      if (!(Number(info['num-slaves']) >= 1 && Number(info['num-other-sentinels']) >= 2)) return false;
    }
    return true;
  }
}

/**
 * A data node without persistence (a restarted node comes back empty, the worst case of a crash), announcing
 * its link as its address, with full syncs starting at once (the default waits 5 s for more replicas).
 */
function dataArgs(node: RedisNode, dir: string): string[] {
  return ['--port', String(node.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
    '--logfile', path.join(dir, 'redis.log'), '--daemonize', 'no', '--replica-announce-ip', '127.0.0.1',
    '--replica-announce-port', String(node.address), '--repl-diskless-sync-delay', '0'];
}

/**
 * The TCP forwarder in front of one data node. A connection is a replication stream when its client sends
 * REPLCONF (only replicas do); while held, what the node sends on such streams stays in this process.
 */
class NodeLink {
  private server: net.Server | undefined;
  private readonly links = new Set<Link>();
  private holding = false;

  constructor(private readonly port: number, private readonly target: number) {}

  accept(): Promise<void> {
    if (this.server) return Promise.resolve();
    const server = net.createServer((client) => this.forward(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  /** New connections are refused and open ones dropped, as with a dead host's port. */
  refuse(): void {
    this.server?.close();
    this.server = undefined;
    for (const { client, upstream } of this.links) {
      client.destroy();
      upstream.destroy();
    }
    this.links.clear();
  }

  holdReplication(hold: boolean): void {
    this.holding = hold;
    for (const link of this.links) this.flow(link);
  }

  private forward(client: net.Socket): void {
    const upstream = net.connect(this.target, '127.0.0.1');
    const link: Link = { client, upstream, replication: false, flowing: false };
    this.links.add(link);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.links.delete(link);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', drop);
      socket.on('close', drop);
    }
    client.on('data', (chunk: Buffer) => {
      if (!link.replication && chunk.includes('REPLCONF')) {
        link.replication = true;
        this.flow(link);
      }
      upstream.write(chunk);
    });
    this.flow(link);
  }

  private flow(link: Link): void {
    const flowing = !(this.holding && link.replication);
    if (flowing === link.flowing) return;
    link.flowing = flowing;
    if (flowing) {
      link.upstream.pipe(link.client);
    } else {
      link.upstream.unpipe(link.client);
      link.upstream.pause();
    }
  }
}

interface Link { client: net.Socket; upstream: net.Socket; replication: boolean; flowing: boolean }

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await findFreePort());
  return [...ports];
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
