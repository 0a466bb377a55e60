import type { RowDataPacket } from 'mysql2/promise';
import type { Database } from './database';

interface CapacityRow extends RowDataPacket {
  category: string;
  quantity: number;
}

export interface DeviceCapacity {
  voiceCallSessions?: number;
  extraDevices?: number;
}

/** Licensed quantities of the account's current subscriptions (hosted mode only). */
export async function findDeviceCapacity(db: Database, accountSid: string): Promise<DeviceCapacity> {
  const rows = await db.select<CapacityRow>(
    `SELECT p.category, ap.quantity
       FROM account_subscriptions subs
       JOIN account_products ap ON ap.account_subscription_sid = subs.account_subscription_sid
       JOIN products p ON p.product_sid = ap.product_sid
      WHERE subs.account_sid = ? AND subs.pending = 0
        AND (subs.effective_end_date IS NULL OR subs.effective_end_date > NOW())`,
    [accountSid],
  );
  const capacity: DeviceCapacity = {};
  for (const row of rows) {
    if (row.category === 'voice_call_session') capacity.voiceCallSessions = Number(row.quantity);
    if (row.category === 'device') capacity.extraDevices = Number(row.quantity);
  }
  return capacity;
}

/**
 * Devices allowed = concurrent call sessions × the account's device_to_call_ratio, plus any extra
 * devices bought. Without a call-session product the account may register nothing (the reference
 * crashes with a 500 there; a clear 503 is the safer answer).
 */
export function deviceLimit(capacity: DeviceCapacity, deviceToCallRatio: number): number {
  const fromCalls = (capacity.voiceCallSessions ?? 0) * deviceToCallRatio;
  return fromCalls + (capacity.extraDevices ?? 0);
}
