/**
 * A local EC2 instance metadata service, IMDSv2 as AWS answers it: PUT /latest/api/token with
 * X-aws-ec2-metadata-token-ttl-seconds (1..21600) returns a token; GET /latest/meta-data/<item> needs a
 * valid X-aws-ec2-metadata-token (401 otherwise) and answers 404 for an item it does not have. Only
 * `autoscaling/target-lifecycle-state` is served, set by the test (undefined: 404, as outside an Auto
 * Scaling group). Every request is recorded so tests can check the token dance.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface ImdsRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  status: number;
}

export class LocalImds {
  /** What autoscaling/target-lifecycle-state answers; undefined: 404. */
  lifecycleState: string | undefined = 'InService';
  readonly requests: ImdsRequest[] = [];
  private readonly tokens = new Set<string>();
  private readonly server = http.createServer((req, res) => this.handle(req, res));

  async start(host = '127.0.0.1'): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, host, resolve));
  }

  /** For AWS_EC2_METADATA_SERVICE_ENDPOINT. */
  get endpoint(): string {
    const { address, port } = this.server.address() as AddressInfo;
    return `http://${address}:${port}`;
  }

  /** GETs of the lifecycle state answered so far. */
  get stateReads(): number {
    return this.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/autoscaling/target-lifecycle-state')).length;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume();
    const answer = (status: number, body = ''): void => {
      this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, status });
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      res.end(body);
    };
    if (req.url === '/latest/api/token') {
      if (req.method !== 'PUT') return answer(405);
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return answer(400);
      const token = randomBytes(24).toString('base64');
      this.tokens.add(token);
      return answer(200, token);
    }
    if (req.method !== 'GET' || !req.url?.startsWith('/latest/meta-data/')) return answer(404);
    const token = req.headers['x-aws-ec2-metadata-token'];
    if (typeof token !== 'string' || !this.tokens.has(token)) return answer(401);
    if (req.url === '/latest/meta-data/autoscaling/target-lifecycle-state' && this.lifecycleState !== undefined) {
      return answer(200, this.lifecycleState);
    }
    return answer(404);
  }
}
