/**
 * Status codes drachtio-srf accepts in `res.send` (it throws on any other). A hook's HTTP status is
 * passed on as the SIP status only when it is one of these.
 */
// sip-status ships no types; it is a plain code → reason map.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const statusCodes = require('sip-status') as Record<string, string>;

export function isValidSipStatus(code: number): boolean {
  return Number.isInteger(code) && code >= 100 && code <= 699 && String(code) in statusCodes;
}
