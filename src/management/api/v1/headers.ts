/**
 * @module management/api/v1/headers
 *
 * Response headers every management response carries (set by a hook in
 * server.ts; the SSE stream writes them itself). The monitor page replaces
 * the Content-Security-Policy with one that allows its own inline script.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};
