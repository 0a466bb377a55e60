import type { SbcAddresses } from '../db/sbc-addresses';
import type { Logger } from '../ops/logger';
import { sbcAddressRows } from './sbc-address-rows';

export interface SbcAddressKeeperOptions {
  /** SBC_PUBLIC_ADDRESS_KEEP_ALIVE_IN_MILISECOND */
  keepAliveMs: number;
  /** DEAD_SBC_IN_SECOND */
  deadSeconds: number;
  /** drachtio's advertised hostports while connected, undefined while not. */
  hostports: () => string | undefined;
}

/**
 * Keeps this SBC's `sbc_addresses` rows fresh: at every drachtio connect and then periodically (the
 * reference refreshed once, so a live SBC's row became purgeable after an hour and a quarter), and purges
 * rows of SBCs that stopped refreshing theirs. While drachtio is disconnected our rows are not refreshed:
 * an SBC that cannot take SIP should age out.
 */
export class SbcAddressKeeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly table: SbcAddresses, private readonly opts: SbcAddressKeeperOptions,
    private readonly logger: Logger) {}

  start(): void {
    this.timer = setInterval(() => void this.refresh(), this.opts.keepAliveMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Upserts our rows, then purges dead ones (ours are fresh by then). Never throws. */
  refresh(): Promise<void> {
    // A connect during a slow refresh would otherwise run the same upserts twice at once.
    this.running ??= this.refreshOnce().finally(() => { this.running = undefined; });
    return this.running;
  }

  private async refreshOnce(): Promise<void> {
    try {
      const hostports = this.opts.hostports();
      if (hostports !== undefined) await this.upsertOurs(hostports);
      const purged = await this.table.purgeDead(this.opts.deadSeconds);
      if (purged > 0) this.logger.info({ purged }, 'purged sbc_addresses rows of SBCs no longer refreshing them');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not refresh sbc_addresses');
    }
  }

  private async upsertOurs(hostports: string): Promise<void> {
    const rows = sbcAddressRows(hostports);
    if (rows.length === 0) this.logger.debug({ hostports }, 'no public address advertised; no sbc_addresses row');
    for (const row of rows) {
      const outcome = await this.table.upsert(row);
      this.logger.debug({ ...row, outcome }, 'sbc_addresses row refreshed');
    }
  }
}
