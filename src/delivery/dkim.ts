/**
 * @module delivery/dkim
 *
 * DKIM signing on the way out: `DkimSigner` decides, per message and queue,
 * whether to sign, with which key, and how, from the `domain-key` and
 * `dkim-*` directives; `dkim-sign-core.ts` computes the signature.
 *
 * Decisions (docs/configuration.md, DKIM signing):
 * - `dkim-sign` is resolved for the queue (recipient domain / VMTA):
 *   `yes`/`true` signs; `no`/`false` or unset does not (PowerMTA's default is
 *   not to sign); `if-x-dkim-options-present` signs only messages carrying an
 *   `X-DKIM-Options:` header (its content is not interpreted yet).
 * - The signing domain comes from `dkim-identity` (default `sender-or-from`,
 *   see `dkim-identity.ts`); when no key can sign for it,
 *   `dkim-identity-fallback` is tried. Keys are looked up for that domain in
 *   the VMTA's `domain-key`s (exact, then `*`), then the global ones.
 * - No key, no identity, no `From:`: the message goes unsigned and `skipped`
 *   says why. Signing never fails a delivery.
 * - Algorithm: the key decides. An Ed25519 key signs `ed25519-sha256`
 *   (RFC 8463), an RSA key `rsa-sha256`. Among the keys for a domain, one of
 *   the type `dkim-algorithm` asks for is preferred; when there is none, the
 *   key's own algorithm is used and `notes` says so (a configuration may
 *   well pair the `rsa-sha256` default with an Ed25519 VMTA key).
 *   `dkim-algorithm rsa-sha1` anywhere is refused when the signer is built
 *   (RFC 8301 §3.1), with a `DkimConfigError` naming the line.
 * - `dkim-headers-canon` / `dkim-body-canon`: default `relaxed/relaxed`.
 * - Signed fields: `DEFAULT_SIGNED_HEADERS` plus `dkim-headers`.
 * - `dkim-disallow-adding-headers`: `yes`/`true` over-signs every signed
 *   name (each is listed once more than it occurs, so a copy added later —
 *   a second `Subject:`, a `Reply-To:` the message did not have — breaks
 *   the signature); a list of names over-signs those (and signs them).
 * - `dkim-add-body-limit yes` writes `l=` (the whole body: Petrel never signs
 *   part of it); `dkim-add-timestamp yes` writes `t=`; `dkim-expire-after D`
 *   writes `x=` D after signing (and `never` writes none).
 * - Keys are read and parsed once, when the signer is built
 *   (`DkimSigner.fromConfig`); a reload builds a new signer.
 *
 * Exports: `DEFAULT_SIGNED_HEADERS`, `DkimSignContext`, `DkimSignatureInfo`,
 * `DkimSignResult`, `DkimSigner`.
 */
import type { ConfigBlock, PetrelConfig, SettingValue } from '../config/model.js';
import type { ConfigResolver } from '../config/resolve.js';
import { systemClock } from '../util/clock.js';
import type { Clock } from '../util/clock.js';
import { DkimConfigError } from './dkim-errors.js';
import { parseDkimIdentity, resolveIdentityDomain } from './dkim-identity.js';
import type { DkimIdentity } from './dkim-identity.js';
import { DkimKeyStore } from './dkim-keys.js';
import type { DkimKey, DkimKeyType } from './dkim-keys.js';
import { signatureField, splitMessage } from './dkim-sign-core.js';
import type { Canon } from './dkim-sign-core.js';

/** Fields signed when present, before `dkim-headers` adds more. `Sender` is there because it can name the identity. */
export const DEFAULT_SIGNED_HEADERS: readonly string[] = Object.freeze([
  'From',
  'Sender',
  'To',
  'Cc',
  'Subject',
  'Date',
  'Message-ID',
  'Reply-To',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
  'Feedback-ID',
]);

export interface DkimSignContext {
  /** The queue's virtual MTA (undefined: `{default}`). */
  readonly vmta?: string;
  /** The queue's recipient domain, for resolving `dkim-*` per `<domain>`. */
  readonly domain: string;
  /** Envelope sender (for `dkim-identity mail-from`); `''` for the null sender. */
  readonly mailFrom: string;
}

export interface DkimSignatureInfo {
  /** `d=` */
  readonly domain: string;
  /** `s=` */
  readonly selector: string;
  /** `a=` */
  readonly algorithm: string;
}

export interface DkimSignResult {
  /** The message to send: the signature field(s) then the message (CRLF line ends); the input unchanged when unsigned. */
  readonly signed: Buffer;
  readonly signatures: DkimSignatureInfo[];
  /** Why the message was not signed. */
  readonly skipped?: string;
  /** Remarks on a signature that differs from what was asked (algorithm). */
  readonly notes?: string[];
}

type SignMode = 'yes' | 'no' | 'if-x-dkim-options-present' | 'unset';

/** The `dkim-*` settings of one queue, resolved once. */
interface QueueSettings {
  readonly mode: SignMode;
  readonly identity: DkimIdentity | undefined;
  readonly identityText: string;
  readonly fallback: DkimIdentity | undefined;
  readonly fallbackText: string | undefined;
  readonly algorithm: string;
  readonly headerCanon: Canon;
  readonly bodyCanon: Canon;
  readonly signHeaders: readonly string[];
  /** `all`: every signed name; else these names. */
  readonly oversign: 'all' | readonly string[];
  readonly bodyLength: boolean;
  readonly timestamp: boolean;
  /** Milliseconds; undefined or Infinity for none. */
  readonly expireAfter: number | undefined;
}

const SETTINGS_CACHE_LIMIT = 10_000;

export class DkimSigner {
  private readonly settingsCache = new Map<string, QueueSettings>();

  private constructor(
    private readonly keys: DkimKeyStore,
    private readonly resolver: ConfigResolver,
    private readonly clock: Clock,
  ) {}

  /**
   * Loads every `domain-key` file once (global and per VMTA) and checks the
   * `dkim-algorithm` lines; throws `DkimConfigError` (directive, file, line)
   * for an unreadable or unusable key, or for `rsa-sha1`.
   */
  static fromConfig(config: PetrelConfig, resolver: ConfigResolver, opts: { clock?: Clock } = {}): DkimSigner {
    refuseSha1(config);
    return new DkimSigner(DkimKeyStore.fromConfig(config), resolver, opts.clock ?? systemClock);
  }

  /** Every key loaded, in configuration order. */
  get loadedKeys(): readonly DkimKey[] {
    return this.keys.all;
  }

  /** Signs `message` for the queue `ctx.domain/ctx.vmta`, or says why not. Never rejects for a message-level reason. */
  async sign(message: Buffer, ctx: DkimSignContext): Promise<DkimSignResult> {
    const s = this.settings(ctx.domain, ctx.vmta);
    const unsigned = (skipped: string): DkimSignResult => ({ signed: message, signatures: [], skipped });
    if (s.mode === 'no') return unsigned(`dkim-sign no for ${ctx.domain}`);
    if (s.mode === 'unset') return unsigned(`dkim-sign is not set for ${ctx.domain}`);
    if (s.algorithm === 'rsa-sha1') return unsigned('dkim-algorithm rsa-sha1 is refused (RFC 8301)');

    const split = splitMessage(message);
    if (s.mode === 'if-x-dkim-options-present' && !split.headers.some((h) => h.key === 'x-dkim-options')) {
      return unsigned('dkim-sign if-x-dkim-options-present and the message has no X-DKIM-Options header');
    }
    if (!split.headers.some((h) => h.key === 'from')) return unsigned('the message has no From: header (RFC 6376 §5.4 requires signing it)');

    const wantType: DkimKeyType = s.algorithm === 'ed25519-sha256' ? 'ed25519' : 'rsa';
    const reasons: string[] = [];
    const attempt = (identity: DkimIdentity | undefined, text: string, directive: string): { key: DkimKey; domain: string; auid?: string } | undefined => {
      if (!identity) {
        reasons.push(`${directive} '${text}' is not sender-or-from, @domain, an address or mail-from`);
        return undefined;
      }
      const r = resolveIdentityDomain(identity, split.headers, ctx.mailFrom);
      if ('reason' in r) {
        reasons.push(`${directive} ${text}: ${r.reason}`);
        return undefined;
      }
      const candidates = this.keys.candidates(r.domain, ctx.vmta);
      const key = candidates.find((k) => k.type === wantType) ?? candidates[0];
      if (!key) {
        reasons.push(`no domain-key for ${r.domain} (${directive} ${text}${ctx.vmta ? `, virtual-mta ${ctx.vmta}` : ''})`);
        return undefined;
      }
      return { key, domain: r.domain, ...(r.auid !== undefined ? { auid: r.auid } : {}) };
    };
    const chosen =
      attempt(s.identity, s.identityText, 'dkim-identity') ??
      (s.fallbackText !== undefined ? attempt(s.fallback, s.fallbackText, 'dkim-identity-fallback') : undefined);
    if (!chosen) return unsigned(reasons.join('; '));

    const { key } = chosen;
    const algorithm = key.type === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256';
    const notes = algorithm === s.algorithm ? undefined : [`dkim-algorithm ${s.algorithm} asked, but the key ${key.selector}._domainkey (${key.keyFile}) is ${key.type}: signed ${algorithm}`];
    const now = this.clock.now();
    const field = signatureField({
      split,
      domain: chosen.domain,
      selector: key.selector,
      key: key.key,
      keyType: key.type,
      headerCanon: s.headerCanon,
      bodyCanon: s.bodyCanon,
      signHeaders: s.signHeaders,
      oversign: s.oversign === 'all' ? s.signHeaders : s.oversign,
      bodyLength: s.bodyLength,
      ...(s.timestamp ? { timestamp: Math.floor(now / 1000) } : {}),
      ...(s.expireAfter !== undefined && Number.isFinite(s.expireAfter) ? { expires: Math.floor((now + s.expireAfter) / 1000) } : {}),
      ...(chosen.auid !== undefined ? { auid: chosen.auid } : {}),
    });
    return {
      signed: Buffer.concat([Buffer.from(field, 'latin1'), split.message]),
      signatures: [{ domain: chosen.domain, selector: key.selector, algorithm }],
      ...(notes ? { notes } : {}),
    };
  }

  private settings(domain: string, vmta: string | undefined): QueueSettings {
    const cacheKey = `${domain.toLowerCase()}/${vmta ?? ''}`;
    const hit = this.settingsCache.get(cacheKey);
    if (hit) return hit;
    const get = <T>(name: string): T | undefined => this.resolver.domain<T>(name, domain, vmta).value;
    const signRaw = get<string>('dkim-sign')?.toLowerCase();
    const mode: SignMode =
      signRaw === undefined ? 'unset' : signRaw === 'yes' || signRaw === 'true' ? 'yes' : signRaw === 'if-x-dkim-options-present' ? 'if-x-dkim-options-present' : 'no';
    const identityText = get<string>('dkim-identity') || 'sender-or-from';
    const fallbackText = get<string>('dkim-identity-fallback') || undefined;
    const extra = get<string[]>('dkim-headers') ?? [];
    const over = readOversign(get<string>('dkim-disallow-adding-headers'));
    const signHeaders = dedupe([...DEFAULT_SIGNED_HEADERS, ...extra, ...(over === 'all' ? [] : over)]);
    const s: QueueSettings = {
      mode,
      identity: parseDkimIdentity(identityText),
      identityText,
      fallback: fallbackText === undefined ? undefined : parseDkimIdentity(fallbackText),
      fallbackText,
      algorithm: (get<string>('dkim-algorithm') ?? 'rsa-sha256').toLowerCase(),
      headerCanon: get<string>('dkim-headers-canon') === 'simple' ? 'simple' : 'relaxed',
      bodyCanon: get<string>('dkim-body-canon') === 'simple' ? 'simple' : 'relaxed',
      signHeaders,
      oversign: over,
      bodyLength: get<boolean>('dkim-add-body-limit') === true,
      timestamp: get<boolean>('dkim-add-timestamp') === true,
      expireAfter: get<number>('dkim-expire-after'),
    };
    if (this.settingsCache.size >= SETTINGS_CACHE_LIMIT) this.settingsCache.clear();
    this.settingsCache.set(cacheKey, s);
    return s;
  }
}

/** `dkim-disallow-adding-headers`: `yes`/`true` → all signed names; `no`/`false`/unset → none; else a list of names. */
function readOversign(raw: string | undefined): 'all' | readonly string[] {
  const v = raw?.trim() ?? '';
  if (/^(yes|true)$/i.test(v)) return 'all';
  if (v === '' || /^(no|false)$/i.test(v)) return [];
  return dedupe(v.split(/[\s,:]+/).filter((n) => /^[\x21-\x39\x3b-\x7e]+$/.test(n)));
}

function dedupe(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const n of names) {
    const k = n.trim().toLowerCase();
    if (k === '' || seen.has(k)) continue;
    seen.add(k);
    out.push(n.trim());
  }
  return out;
}

/** Throws for the first `dkim-algorithm rsa-sha1` in any `<domain>` block (top level, VMTA or pool). */
function refuseSha1(config: PetrelConfig): void {
  const blocks: ConfigBlock[] = [
    ...config.domains.map((e) => e.block),
    ...[...config.vmtas.values()].flatMap((v) => v.domains.map((e) => e.block)),
    ...[...config.pools.values()].flatMap((p) => p.domains.map((e) => e.block)),
  ];
  for (const b of blocks) {
    for (const s of (b.settings.get('dkim-algorithm') ?? []) as SettingValue<string>[]) {
      if (!s.cleared && String(s.value).toLowerCase() === 'rsa-sha1') {
        throw new DkimConfigError(
          'ALGORITHM_REFUSED',
          'dkim-algorithm',
          `rsa-sha1 is refused: RFC 8301 §3.1 forbids signing with it, and receivers treat such signatures as invalid; use rsa-sha256 (or ed25519-sha256)`,
          { pos: s.pos },
        );
      }
    }
  }
}
