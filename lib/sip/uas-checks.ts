/**
 * What RFC 3261 §8.2.2 has every UAS check before acting on a request, as pure functions: the Request-URI
 * scheme (§8.2.2.1, 416 Unsupported URI Scheme) and the Require header's option-tags (§8.2.2.3, 420 Bad
 * Extension listing them in Unsupported).
 */

const URI_SCHEMES = new Set(['sip', 'sips', 'tel']);

/** True when the Request-URI's scheme is one this service can act on (sip, sips, tel). */
export function isSupportedRequestUriScheme(uri: string): boolean {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri.trim());
  return scheme !== null && URI_SCHEMES.has(scheme[1].toLowerCase());
}

/** The option-tags of a Require header value that are not in `supported` (compared without case), in order. */
export function unsupportedOptionTags(require: string | undefined, supported: readonly string[] = []): string[] {
  if (require === undefined) return [];
  const known = new Set(supported.map((tag) => tag.toLowerCase()));
  return require.split(',').map((tag) => tag.trim()).filter((tag) => tag !== '' && !known.has(tag.toLowerCase()));
}
