import fs from 'node:fs';
import net from 'node:net';
import type { Logger } from '../ops/logger';
import { CliReply, CliRequest, MAX_REQUEST_BYTES, parseRequest } from './protocol';
import type { FsCommands } from './fs-commands';
import type { ConfigCommands } from './config-commands';
import type { RegistrationCommands } from './registration-commands';
import type { RegbotCommands } from './regbot-commands';

export interface CliHandlers {
  fs: FsCommands;
  config: ConfigCommands;
  registrations: RegistrationCommands;
  regbot: RegbotCommands;
}

/**
 * The operator CLI's Unix socket (SBC_SOCKET_PATH): owner-only (0600, created so from the start, not
 * chmod'ed after), one JSON request per line, one JSON reply per line. A socket still served by another
 * process is left alone rather than stolen; a stale one is replaced.
 */
export class CliServer {
  private server: net.Server | undefined;

  constructor(private readonly socketPath: string, private readonly handlers: CliHandlers,
    private readonly logger: Logger) {}

  async start(): Promise<void> {
    if (!(await this.claimPath())) return;
    // Half-open: a client that ends its side after writing (socat, `nc -N`) still gets its replies; serve() ends ours.
    const server = net.createServer({ allowHalfOpen: true }, (socket) => this.serve(socket));
    server.on('error', (err) => this.logger.error({ err: err.message, socketPath: this.socketPath }, 'CLI socket error'));
    // The umask makes the socket owner-only at creation; chmod afterwards would leave a window.
    const previous = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.socketPath, () => resolve());
      });
    } finally {
      process.umask(previous);
    }
    fs.chmodSync(this.socketPath, 0o600);
    this.server = server;
    this.logger.info({ socketPath: this.socketPath }, 'CLI socket listening');
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(this.socketPath, { force: true });
  }

  /** Removes a stale socket file; refuses a live socket or anything that is not a socket. */
  private async claimPath(): Promise<boolean> {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(this.socketPath);
    } catch {
      return true;
    }
    if (!stat.isSocket()) {
      this.logger.error({ socketPath: this.socketPath }, 'SBC_SOCKET_PATH exists and is not a socket; CLI disabled');
      return false;
    }
    if (await isServed(this.socketPath)) {
      this.logger.error({ socketPath: this.socketPath }, 'another process serves SBC_SOCKET_PATH; CLI disabled');
      return false;
    }
    fs.rmSync(this.socketPath, { force: true });
    return true;
  }

  private serve(socket: net.Socket): void {
    let buffer = '';
    let queue = Promise.resolve();
    const enqueue = (line: string) => {
      if (line.trim() === '') return;
      // Replies go back in request order even when a later request finishes first.
      queue = queue.then(() => this.answer(line)).then((reply) => {
        if (socket.writable) socket.write(`${JSON.stringify(reply)}\n`);
      });
    };
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_REQUEST_BYTES) {
        socket.end(`${JSON.stringify({ success: false, error: 'Request too long' })}\n`, () => socket.destroy());
        buffer = '';
        return;
      }
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) enqueue(line);
    });
    // The client is done sending: answer what it sent (a last line without its newline too), then close.
    socket.on('end', () => {
      enqueue(buffer);
      buffer = '';
      queue = queue.then(() => { socket.end(); });
    });
  }

  private async answer(line: string): Promise<CliReply> {
    const parsed = parseRequest(line.trim());
    if ('reply' in parsed) return parsed.reply;
    try {
      const reply = await this.dispatch(parsed.request);
      this.logger.info({ action: parsed.request.action, server: parsed.request.server, key: parsed.request.key,
        success: reply.success }, 'CLI command');
      return reply;
    } catch (err) {
      this.logger.error({ err: (err as Error).message, action: parsed.request.action }, 'CLI command failed');
      return { success: false, error: `Command failed: ${(err as Error).message}` };
    }
  }

  private async dispatch(request: CliRequest): Promise<CliReply> {
    const { fs: fsCommands, config, registrations, regbot } = this.handlers;
    switch (request.action) {
      case 'fs-drain': return fsCommands.drain(request.server);
      case 'fs-undrain': return fsCommands.undrain(request.server);
      case 'fs-drained': return fsCommands.listDrained();
      case 'fs-available': return fsCommands.available();
      case 'fs-list': return fsCommands.list();
      case 'set': return config.set(request.key, request.value);
      case 'get': return config.get(request.key);
      case 'list': return config.list();
      case 'add': return config.add(request.key, request.item);
      case 'remove': return config.remove(request.key, request.item);
      case 'registrations-list': return registrations.list(request.realm, request.limit);
      case 'registrations-show': return registrations.show(request.aor);
      case 'regbot-status': return regbot.status();
    }
  }
}

function isServed(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createConnection(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
