import fs from 'node:fs';
import mysql, { Pool, PoolOptions, RowDataPacket, ResultSetHeader } from 'mysql2/promise';
import type { MysqlConfig, MysqlPoolConfig } from '../config/config';
import { DependencyUnavailable } from '../ops/outage';

/**
 * The MySQL pools. Reads go to the read pool; every INSERT/UPDATE/DELETE goes to the writer pool when
 * one is configured (JAMBONES_MYSQL_WRITE_*), as jambonz does for read replicas.
 */
export class Database {
  private readonly readPool: Pool;
  private readonly writePool: Pool;

  constructor(config: MysqlConfig) {
    this.readPool = mysql.createPool(poolOptions(config.read, config));
    this.writePool = config.write ? mysql.createPool(poolOptions(config.write, config)) : this.readPool;
  }

  /** Fails with DependencyUnavailable('mysql') when MySQL cannot be reached; with the driver's error otherwise. */
  async select<T extends RowDataPacket>(sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      const [rows] = await this.readPool.query<T[]>(sql, params);
      return rows;
    } catch (err) {
      throw asOutage(err);
    }
  }

  async write(sql: string, params: unknown[] = []): Promise<ResultSetHeader> {
    try {
      const [result] = await this.writePool.query<ResultSetHeader>(sql, params);
      return result;
    } catch (err) {
      throw asOutage(err);
    }
  }

  /** Used by readiness checks: one round trip on each pool. */
  async ping(): Promise<void> {
    await this.readPool.query('SELECT 1');
    if (this.writePool !== this.readPool) await this.writePool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.readPool.end();
    if (this.writePool !== this.readPool) await this.writePool.end();
  }
}

/** Connection-level failures: MySQL is away, not the statement wrong. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND',
  'EAI_AGAIN', 'EPIPE', 'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN']);

function asOutage(err: unknown): unknown {
  const { code, fatal, message } = err as { code?: unknown; fatal?: unknown; message?: unknown };
  const unreachable = fatal === true || (typeof code === 'string' && UNREACHABLE_CODES.has(code));
  return unreachable ? new DependencyUnavailable('mysql', String(message ?? code)) : err;
}

function poolOptions(pool: MysqlPoolConfig, config: MysqlConfig): PoolOptions {
  return {
    host: pool.host,
    port: pool.port,
    user: pool.user,
    password: pool.password,
    database: pool.database,
    connectionLimit: pool.connectionLimit,
    waitForConnections: true,
    enableKeepAlive: true,
    // A short connect timeout keeps a REGISTER from hanging for the default 10 s when MySQL is gone.
    connectTimeout: 3000,
    ssl: config.ssl
      ? {
          rejectUnauthorized: config.ssl.rejectUnauthorized,
          ca: readOptionalFile(config.ssl.caFile),
          cert: readOptionalFile(config.ssl.certFile),
          key: readOptionalFile(config.ssl.keyFile),
        }
      : undefined,
  };
}

function readOptionalFile(path: string | undefined): string | undefined {
  return path ? fs.readFileSync(path, 'utf8') : undefined;
}
