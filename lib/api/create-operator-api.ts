import type Redis from 'ioredis';
import type { FsCommands } from '../cli/fs-commands';
import type { RegbotStatusSource } from '../cli/regbot-commands';
import type { MembershipRegistry } from '../options/membership-registry';
import type { Logger } from '../ops/logger';
import type { Database } from '../db/database';
import { listSipRealms } from '../db/accounts';
import { AuthGuardStore } from '../store/auth-guard-store';
import type { BindingStore } from '../store/binding-store';
import type { RegisterStatsStore } from '../store/register-stats-store';
import type { RegistrationStore } from '../store/registration-store';
import { ClusterView } from './cluster-view';
import { createOperatorApi, OpsRequestHandler } from './operator-api';
import { RegistrationsView } from './registrations-view';

export interface OperatorApiWiring {
  /** HTTP_API_TOKEN; without it there is no API and no page. */
  token?: string;
  clusterId: string;
  redis: Redis;
  db: Database;
  registrations: RegistrationStore;
  bindings: BindingStore;
  fs: FsCommands;
  membership: MembershipRegistry;
  regbot: RegbotStatusSource;
  stats: RegisterStatsStore;
  logger: Logger;
}

/** The operator API and page for the ops server, or undefined when no token is configured. */
export function operatorApiFor(wiring: OperatorApiWiring): OpsRequestHandler | undefined {
  if (!wiring.token) return undefined;
  const { clusterId, fs, membership, regbot, logger } = wiring;
  return createOperatorApi({
    token: wiring.token,
    registrations: new RegistrationsView(wiring.registrations, wiring.bindings, (max) => listSipRealms(wiring.db, max)),
    cluster: new ClusterView({ clusterId, fs, membership, regbot }),
    guard: new AuthGuardStore(wiring.redis),
    fs,
    stats: wiring.stats,
    logger,
  });
}
