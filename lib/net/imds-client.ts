/**
 * The EC2 instance metadata service, IMDSv2 only: a session token is fetched with PUT /latest/api/token
 * (TTL 60 s, as the reference asks) and presented on the GET of the metadata item. A fresh token per read,
 * as the reference does: one read every 20 s does not justify caching a credential.
 */
import http from 'node:http';

const TOKEN_TTL_SECONDS = '60';
/** Metadata items are short strings; anything larger is not IMDS. */
const MAX_BODY_BYTES = 16 * 1024;

export type MetadataRead =
  | { ok: true; value: string }
  /** `status` when IMDS answered (404: the item does not exist, e.g. not in an Auto Scaling group). */
  | { ok: false; reason: string; status?: number };

interface HttpReply {
  status: number;
  body: string;
}

export class ImdsClient {
  /** `endpoint`: scheme, host and port, e.g. http://169.254.169.254 (AWS_EC2_METADATA_SERVICE_ENDPOINT). */
  constructor(private readonly endpoint: string, private readonly timeoutMs = 2000) {}

  /** Reads `/latest/meta-data/<item>`. Never throws; the token never appears in a result. */
  async read(item: string): Promise<MetadataRead> {
    try {
      const token = await this.send('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': TOKEN_TTL_SECONDS });
      if (token.status !== 200 || token.body.length === 0) {
        return { ok: false, reason: `token request answered ${token.status}`, status: token.status };
      }
      const reply = await this.send('GET', `/latest/meta-data/${item}`, { 'X-aws-ec2-metadata-token': token.body });
      if (reply.status !== 200) return { ok: false, reason: `${item} answered ${reply.status}`, status: reply.status };
      return { ok: true, value: reply.body.trim() };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }

  private send(method: 'PUT' | 'GET', path: string, headers: Record<string, string>): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
      const req = http.request(`${this.endpoint}${path}`, { method, headers, timeout: this.timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body.length > MAX_BODY_BYTES) req.destroy(new Error('metadata reply too large'));
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }
}
