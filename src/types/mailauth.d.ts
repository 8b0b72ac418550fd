/**
 * @module types/mailauth
 *
 * Declarations for the internal modules of mailauth 4.13.3 that
 * `delivery/dkim-sign-core.ts` composes (mailauth bundles types for its
 * public entry points — `mailauth`, `mailauth/lib/dkim/sign.js`,
 * `mailauth/lib/dkim/verify.js` — but not for these). Only what Petrel
 * uses is declared; the shapes were read from the 4.13.3 sources, and the
 * version is pinned (package.json), so they cannot drift unnoticed: the
 * DKIM tests compare Petrel's output with mailauth's own `dkimSign`.
 */

declare module 'mailauth/lib/dkim/body/index.js' {
  /** A body canonicaliser + hasher (`SimpleHash` / `RelaxedHash`). */
  export interface DkimBodyHasher {
    update(chunk: Buffer | null, final?: boolean): void;
    /** Finalises; after it `bodyHashedBytes` is the canonical body length (the `l=` value). */
    digest(encoding: 'base64'): string;
    readonly bodyHashedBytes: number;
    readonly canonicalizedLength: number;
  }
  /** `canonicalization` is `simple` / `relaxed` (or `x/y`, whose body part is used). */
  export function dkimBody(canonicalization: string, hashAlgo: string, maxBodyLength?: number | false): DkimBodyHasher;
}

declare module 'mailauth/lib/dkim/header/index.js' {
  export interface ParsedHeaderLine {
    /** Lower-case field name. */
    key: string | null;
    /** Field name as written. */
    casedKey: string | undefined;
    /** The whole field, folding kept, without the final CRLF. */
    line: Buffer;
  }
  export interface SigningHeaderLines {
    /** The `h=` value: names joined with `': '`. */
    keys: string;
    headers: ParsedHeaderLine[];
  }
  /**
   * With `signatureHeaderLine` given, canonicalises `headers` followed by
   * that line with its `b=` value removed (RFC 6376 §3.7).
   */
  export function generateCanonicalizedHeader(
    type: 'DKIM',
    signingHeaderLines: SigningHeaderLines,
    options: { canonicalization: string; signatureHeaderLine: string },
  ): { canonicalizedHeader: Buffer };
}

declare module 'mailauth/lib/tools.js' {
  import type { ParsedHeaderLine } from 'mailauth/lib/dkim/header/index.js';
  /** Splits a header block into fields (continuation lines joined with CRLF). */
  export function parseHeaders(buf: Buffer): { parsed: ParsedHeaderLine[]; original: Buffer };
  /**
   * Formats `DKIM-Signature: v=1; a=…` in RFC order, folded when `folded`.
   * `t` defaults to now and `q` to `dns/txt`; a tag set to `false` is left out.
   */
  export function formatSignatureHeaderLine(type: 'DKIM', values: Record<string, string | number | false | undefined>, folded: boolean): string;
}
