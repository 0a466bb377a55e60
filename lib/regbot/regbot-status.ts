/**
 * `regbot status`: one view of every gateway that needs registration, across the cluster.
 *
 * Gateways are sharded over the live instances, so one instance knows the live state only of the gateways
 * it owns. For the others it has what every owner writes after each final response: the carrier's
 * `register_status` JSON in MySQL. Each row says which of the two it comes from (`source`), so the
 * answer never passes a database record off as live state.
 */
import type { RegistrationRow } from '../db/carriers';
import type { RegistrationState } from './gateway-registration';
import { rendezvousOwner, OwnershipMode } from './gateway-ownership';
import type { RegisterStatus } from './register-status';
import { aorOf, RegistrationTarget, toTarget } from './registration-target';

/** Asked for the status of a regbot that has not started (no drachtio connection yet) or has stopped. */
export class RegbotNotRunning extends Error {}

/** What this instance knows live about a gateway it registers. */
export interface LiveGateway {
  state: RegistrationState;
  lastResponse?: string;
  lastResponseAt?: string;
  nextAttemptAt?: string;
}

export type GatewayViewState = RegistrationState | 'expired' | 'unknown' | 'invalid' | 'duplicate';

export interface GatewayView {
  gatewaySid: string;
  carrierSid: string;
  carrierName: string;
  aor?: string;
  /** The owning instance id; 'foreign' while a reference sidecar holds the lease. */
  owner?: string;
  ownedHere: boolean;
  state: GatewayViewState;
  /** live: this instance registers it; database: from register_status; none: nothing known. */
  source: 'live' | 'database' | 'none';
  lastResponse?: string;
  lastResponseAt?: string;
  nextRefresh?: string;
  sbcAddress?: string;
  note?: string;
}

export interface OwnershipView {
  instanceId: string;
  mode: OwnershipMode;
  liveInstances: readonly string[];
}

export interface RegbotClusterStatus extends OwnershipView {
  gateways: GatewayView[];
}

/** Two gateways with the same address and credentials are one binding; only the first is registered. */
export function registrationIdentity(target: RegistrationTarget): string {
  return `${target.host}:${target.port ?? ''}:${target.sipRealm}:${target.username}:${target.password}`;
}

export function ownerOf(ownership: OwnershipView, gatewaySid: string): string | undefined {
  if (ownership.mode === 'foreign') return 'foreign';
  if (ownership.mode !== 'ours') return undefined;
  return rendezvousOwner(ownership.liveInstances, gatewaySid);
}

export interface ClusterStatusInput {
  rows: RegistrationRow[];
  /** register_status by carrier sid. */
  statuses: ReadonlyMap<string, RegisterStatus>;
  /** What this instance registers, by gateway sid. */
  live: ReadonlyMap<string, LiveGateway>;
  ownership: OwnershipView;
  now: number;
}

export function clusterStatus(input: ClusterStatusInput): RegbotClusterStatus {
  const firstOfIdentity = new Map<string, string>();
  const gateways = input.rows.map((row): GatewayView => {
    const base = { gatewaySid: row.sipGatewaySid, carrierSid: row.voipCarrierSid, carrierName: row.carrierName };
    const result = toTarget(row);
    if (!result.ok) return { ...base, ownedHere: false, state: 'invalid', source: 'none', note: result.reason };
    const identity = registrationIdentity(result.target);
    const first = firstOfIdentity.get(identity);
    const aor = aorOf(result.target);
    if (first) return { ...base, aor, ownedHere: false, state: 'duplicate', source: 'none', note: `same binding as gateway ${first}` };
    firstOfIdentity.set(identity, row.sipGatewaySid);
    const owner = ownerOf(input.ownership, row.sipGatewaySid);
    const view = { ...base, aor, owner, ownedHere: owner === input.ownership.instanceId };
    const live = input.live.get(row.sipGatewaySid);
    if (live) {
      return { ...view, state: live.state, source: 'live', lastResponse: live.lastResponse, lastResponseAt: live.lastResponseAt,
        nextRefresh: live.nextAttemptAt };
    }
    return { ...view, ...fromDatabase(input.statuses.get(row.voipCarrierSid), row.sipGatewaySid, input.now) };
  });
  const { instanceId, mode, liveInstances } = input.ownership;
  return { instanceId, mode, liveInstances, gateways };
}

/**
 * register_status is per carrier: with several gateways the last writer wins, so a status naming another
 * gateway says nothing about this one. Older writers (the reference) name no gateway; theirs is used.
 */
function fromDatabase(status: RegisterStatus | undefined, gatewaySid: string, now: number):
  Pick<GatewayView, 'state' | 'source' | 'lastResponse' | 'lastResponseAt' | 'nextRefresh' | 'sbcAddress'> {
  if (!status || (status.sipGatewaySid !== undefined && status.sipGatewaySid !== gatewaySid)) {
    return { state: 'unknown', source: 'none' };
  }
  return {
    state: databaseState(status, now),
    source: 'database',
    lastResponse: status.reason,
    lastResponseAt: status.timestamp,
    nextRefresh: status.nextRegister,
    sbcAddress: status.sbcAddress,
  };
}

function databaseState(status: RegisterStatus, now: number): GatewayViewState {
  if (status.status !== 'ok') return 'failed';
  const at = Date.parse(status.timestamp);
  if (Number.isNaN(at) || status.expires === undefined) return 'registered';
  return at + status.expires * 1000 > now ? 'registered' : 'expired';
}

