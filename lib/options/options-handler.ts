import type { SipHandler } from '../drachtio/sip-router';

/**
 * Out-of-dialog OPTIONS: keep-alives and health pings from carriers, clients and SBC peers get 200.
 * (Feature-server and RTP-server membership pings build on this later.)
 */
export function createOptionsHandler(): SipHandler {
  return (_req, res) => {
    res.send(200);
  };
}
