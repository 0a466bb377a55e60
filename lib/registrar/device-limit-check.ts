import type { Account } from '../db/accounts';
import type { Database } from '../db/database';
import { deviceLimit, findDeviceCapacity } from '../db/device-limits';
import type { RegistrationStore } from '../store/registration-store';
import { AlertType, Alerter } from '../ops/alerts';

export type LimitDecision = { allowed: true } | { allowed: false; limit: number };

/**
 * Hosted mode: an account may hold as many live registrations as its subscription allows. A device
 * already registered may always refresh; a new one is refused once the realm holds `limit` devices.
 */
export class DeviceLimitCheck {
  constructor(
    private readonly db: Database,
    private readonly store: RegistrationStore,
    private readonly alerter: Alerter,
  ) {}

  async check(account: Account, aor: string, realm: string): Promise<LimitDecision> {
    const capacity = await findDeviceCapacity(this.db, account.accountSid);
    const limit = deviceLimit(capacity, account.deviceToCallRatio);
    if (limit > 0) {
      if (await this.store.isRegistered(aor, realm)) return { allowed: true };
      const count = await this.store.countRealm(realm);
      if (count < limit) return { allowed: true };
    }
    this.alerter.write({
      alert_type: AlertType.ACCOUNT_DEVICE_LIMIT,
      account_sid: account.accountSid,
      service_provider_sid: account.serviceProviderSid,
      count: limit,
      message: `You have exceeded your account limit of ${limit} registered devices; please upgrade your subscription`,
    });
    return { allowed: false, limit };
  }
}
