/**
 * @module policy/session-policy
 *
 * The `<source>` settings in force for one inbound session, resolved per
 * directive as PowerMTA does (see config/resolve.ts) and cached for the
 * session's life. The chain of named sources is, most specific first:
 *   1. after AUTH: the user's `source NAME` lines, or `{auth}` when it has none;
 *   2. the listener's `source=NAME` (our extension), so a submission port can
 *      carry its own policy whatever the client's address;
 *   3. then `<source CIDR>` blocks by longest prefix, down to `0/0`.
 *
 * Exports: `SessionPolicy`.
 */
import type { ConfigResolver } from '../config/resolve.js';

export class SessionPolicy {
  #named: string[];
  #cache = new Map<string, unknown>();

  constructor(
    private readonly resolver: ConfigResolver,
    readonly clientIp: string,
    private readonly listenerSource: string | undefined,
  ) {
    this.#named = listenerSource ? [listenerSource] : [];
  }

  /** Named sources in force, most specific first. */
  get namedSources(): readonly string[] {
    return this.#named;
  }

  /** After a successful AUTH: the user's sources (or `{auth}`) go in front. */
  authenticated(userSources: readonly string[]): void {
    const user = userSources.length > 0 ? [...userSources] : ['{auth}'];
    this.#named = [...user, ...(this.listenerSource ? [this.listenerSource] : [])];
    this.#cache.clear();
  }

  /** After STARTTLS (RFC 3207 §4.2: forget what the client said before) or RSET of AUTH state. */
  reset(): void {
    this.#named = this.listenerSource ? [this.listenerSource] : [];
    this.#cache.clear();
  }

  /** The value of a `<source>` directive for this session (its built-in default when no block sets it). */
  get<T>(name: string): T | undefined {
    if (this.#cache.has(name)) return this.#cache.get(name) as T | undefined;
    const v = this.resolver.source<T>(name, this.clientIp, this.#named).value;
    this.#cache.set(name, v);
    return v;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.get<boolean>(name);
    return typeof v === 'boolean' ? v : fallback;
  }

  /** A size/count where Infinity means unlimited; `fallback` when unset. */
  limit(name: string, fallback: number): number {
    const v = this.get<number>(name);
    return typeof v === 'number' ? v : fallback;
  }
}
