/**
 * @module delivery/dkim-keys
 *
 * The `domain-key SELECTOR,DOMAIN,KEYFILE` registrations of a configuration,
 * loaded once: every key file is read and parsed into a `KeyObject` when the
 * store is built (one read per distinct file, however many lines name it),
 * never while a message is being signed.
 *
 * Lookup (`candidates(domain, vmta)`) returns the keys that can sign for a
 * domain, in the order they are preferred:
 *   1. the `<virtual-mta>`'s keys for exactly that domain,
 *   2. the `<virtual-mta>`'s `*` keys,
 *   3. the global keys for exactly that domain,
 *   4. the global `*` keys.
 * Within each tier, file order. A `domain-key ""` in a `<virtual-mta>`
 * (clearing) means that VMTA does not use the global keys at all.
 * A `*` key signs with `d=` set to the domain asked for.
 *
 * Exports: `DkimKeyType`, `DkimKey`, `DkimKeyStore`, `loadDkimPrivateKey`.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type { ConfigBlock, PetrelConfig, SettingValue } from '../config/model.js';
import type { DomainKey, SourcePos } from '../config/types.js';
import { DkimConfigError } from './dkim-errors.js';

export type DkimKeyType = 'rsa' | 'ed25519';

export interface DkimKey {
  readonly selector: string;
  /** Lower-case, no trailing dot; `*` for a key that signs any domain. */
  readonly domain: string;
  /** Absolute path (the loader resolved it against the config file). */
  readonly keyFile: string;
  readonly key: crypto.KeyObject;
  readonly type: DkimKeyType;
  /** RSA modulus length; undefined for Ed25519. */
  readonly bits: number | undefined;
  /** `global` or the `<virtual-mta>` name. */
  readonly scope: string;
  readonly pos: SourcePos;
}

interface LoadedKey {
  readonly key: crypto.KeyObject;
  readonly type: DkimKeyType;
  readonly bits: number | undefined;
}

/** Reads and checks one private key file; throws `DkimConfigError` naming the directive and file. */
export function loadDkimPrivateKey(file: string, pos?: SourcePos): LoadedKey {
  const at = { file, ...(pos ? { pos } : {}) };
  let text: Buffer;
  try {
    text = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new DkimConfigError('KEY_UNREADABLE', 'domain-key', `cannot read key file ${file}: ${code}`, { ...at, cause: e });
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey({ key: text, format: 'pem' });
  } catch (e) {
    throw new DkimConfigError('KEY_INVALID', 'domain-key', `${file} is not a usable private key: ${(e as Error).message}`, { ...at, cause: e });
  }
  const kind = key.asymmetricKeyType;
  if (kind === 'ed25519') return { key, type: 'ed25519', bits: undefined };
  if (kind === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (bits !== undefined && bits < 1024) {
      throw new DkimConfigError('KEY_UNSUPPORTED', 'domain-key', `${file}: RSA key of ${bits} bits; DKIM needs at least 1024 (RFC 8301 §3.2), 2048 is recommended`, at);
    }
    return { key, type: 'rsa', bits };
  }
  throw new DkimConfigError('KEY_UNSUPPORTED', 'domain-key', `${file}: ${kind ?? 'unknown'} key; DKIM signs with RSA (rsa-sha256) or Ed25519 (ed25519-sha256, RFC 8463)`, at);
}

interface ScopeKeys {
  readonly exact: Map<string, DkimKey[]>;
  readonly any: DkimKey[];
  /** `domain-key ""` seen in this block: do not fall back to the global keys. */
  readonly cleared: boolean;
}

export class DkimKeyStore {
  private constructor(
    private readonly globalKeys: ScopeKeys,
    private readonly vmtaKeys: ReadonlyMap<string, ScopeKeys>,
    /** Every key, in load order. */
    readonly all: readonly DkimKey[],
  ) {}

  static fromConfig(config: PetrelConfig): DkimKeyStore {
    const cache = new Map<string, LoadedKey>();
    const all: DkimKey[] = [];
    const scopeKeys = (block: ConfigBlock, scope: string): ScopeKeys => {
      const list = (block.settings.get('domain-key') ?? []) as SettingValue<DomainKey>[];
      const out: ScopeKeys = { exact: new Map(), any: [], cleared: list.some((s) => s.cleared) };
      for (const s of list) {
        if (s.cleared) continue;
        const v = s.value;
        let loaded = cache.get(v.keyFile);
        if (!loaded) {
          loaded = loadDkimPrivateKey(v.keyFile, s.pos);
          cache.set(v.keyFile, loaded);
        }
        const domain = normaliseDomain(v.domain);
        const k: DkimKey = { selector: v.selector, domain, keyFile: v.keyFile, ...loaded, scope, pos: s.pos };
        all.push(k);
        if (domain === '*') out.any.push(k);
        else {
          const l = out.exact.get(domain);
          if (l) l.push(k);
          else out.exact.set(domain, [k]);
        }
      }
      return out;
    };
    const globalKeys = scopeKeys(config.global, 'global');
    const vmtaKeys = new Map<string, ScopeKeys>();
    for (const [name, v] of config.vmtas) vmtaKeys.set(name, scopeKeys(v.block, name));
    return new DkimKeyStore(globalKeys, vmtaKeys, all);
  }

  /** Keys able to sign for `domain` through `vmta`, most preferred first (see the module comment). */
  candidates(domain: string, vmta?: string): DkimKey[] {
    const d = normaliseDomain(domain);
    const out: DkimKey[] = [];
    const v = vmta === undefined ? undefined : this.vmtaKeys.get(vmta);
    if (v) out.push(...(v.exact.get(d) ?? []), ...v.any);
    if (!v?.cleared) out.push(...(this.globalKeys.exact.get(d) ?? []), ...this.globalKeys.any);
    return out;
  }
}

export function normaliseDomain(d: string): string {
  return d.trim().toLowerCase().replace(/\.$/, '');
}
