/**
 * Every Redis key the service reads or writes, built in one place. The names are the ones the rest of
 * a jambonz cluster reads (sbc-outbound, feature-server, api-server), so none may change; keys marked
 * "ours" are additions no other component reads.
 */
export const keys = {
  /** Legacy registration record (JSON string), TTL = granted expires. Not cluster-prefixed. */
  user: (aor: string): string => `user:${aor}`,
  /** Global zset of `user:<aor>` members scored by expiry (ms). Not cluster-prefixed. */
  activeUsers: 'active-user',
  /** Ours: the same members per realm, so a device count is one ZCARD instead of a scan of every realm. */
  activeUsersOfRealm: (realm: string): string => `active-user:${realm.toLowerCase()}`,
  /**
   * Ours: every binding of an AoR (RFC 3261 §10.3), a hash of binding key → JSON. `user:<aor>` mirrors
   * the most recently refreshed one for the components that read only that.
   */
  bindings: (aor: string): string => `bindings:${aor}`,

  /** Ours: highest digest nonce-count seen for a nonce, kept for the nonce's lifetime. */
  nonceCount: (nonce: string): string => `nonce-nc:${nonce}`,
  /** Ours: failed authentications in the sliding window (zset of timestamps). */
  authFailuresBySource: (ip: string): string => `auth-failures:ip:${ip}`,
  authFailuresByAor: (aor: string): string => `auth-failures:aor:${aor}`,
  /** Ours: a banned source address; REGISTERs from it are refused before MySQL or the hook. */
  bannedSource: (ip: string): string => `banned-source:${ip}`,
  /** Ours: every banned source (zset, member the IP, score = ban expiry in ms), so bans are listed without a SCAN. */
  bannedSources: 'banned-sources',

  regbotToken: (cluster: string): string => `${cluster}:regbot-token`,
  /** Ours: live regbot instances (zset, member instance id, score = heartbeat expiry in ms). */
  regbotInstances: (cluster: string): string => `${cluster}:regbot-instances`,
  /** Ours: regbot instances draining after a scale-in signal, until a successor exists (same shape). */
  regbotDraining: (cluster: string): string => `${cluster}:regbot-draining`,
  activeFeatureServers: (cluster: string): string => `${cluster}:active-fs`,
  featureServerServiceUrls: (cluster: string): string => `${cluster}:fs-service-url`,
  activeRtpServers: (cluster: string): string => `${cluster}:active-rtp`,
  drainedFeatureServers: (cluster: string): string => `${cluster}:drained-fs`,
  /**
   * When each member of a membership set (the key given) last checked in: a hash member → epoch ms, the
   * record jambonz's sidecar keeps since 0.9.7. Shared by every sidecar of either kind, so a member
   * pinging only another sidecar is not expired by this one.
   */
  membershipLastSeen: (setKey: string): string => `${setKey}:lastseen`,
  /** The SIP servers (SBCs) of the cluster, kept by sbc-inbound; read for topology discovery. */
  activeSipServers: (cluster: string): string => `${cluster}:active-sip`,
  /** Ours: the lease held by the one sidecar of the cluster that pings carrier gateways. */
  optionsPingerLease: (cluster: string): string => `${cluster}:options-pinger-token`,
  blacklistedGateway: (sipGatewaySid: string): string => `blacklist-sip-gateway:${sipGatewaySid}`,
  ephemeralGatewayIp: (ip: string): string => `eph-gw-ip:${ip}`,
  /**
   * Ours: one instance's REGISTER outcomes in one minute (hash: outcome class → count, `live` → registrations
   * seen), `minute` in minutes since the epoch; kept a little over an hour for the operator page's charts.
   */
  registerMinute: (cluster: string, instanceId: string, minute: number): string =>
    `${cluster}:register-minute:${instanceId}:${minute}`,
  /** Ours: instances that wrote minute buckets (zset, score = last write in ms), so a reader knows whose to sum. */
  registerMinuteWriters: (cluster: string): string => `${cluster}:register-minute-writers`,
};
