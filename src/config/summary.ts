/**
 * @module config/summary
 *
 * What `petrel check-config` prints on success, and `petrel show settings`:
 * a summary of a loaded configuration, and effective settings as plain
 * JSON-safe data (Infinity → "unlimited", RegExp → "/source/").
 */
import * as path from 'node:path';
import type { PetrelConfig } from './model.js';
import { values } from './model.js';
import type { ConfigResolver, Resolved } from './resolve.js';
import type { Listener } from './types.js';

export interface ConfigSummary {
  readonly files: string[];
  readonly listeners: string[];
  readonly sources: string[];
  readonly smtpUsers: string[];
  readonly vmtas: string[];
  readonly pools: Record<string, string[]>;
  readonly domains: string[];
}

export function summarize(cfg: PetrelConfig): ConfigSummary {
  const listeners = values<Listener>(cfg.global, 'smtp-listener').map((l) => listenerText(l));
  const domains = new Set<string>();
  for (const d of cfg.domains) domains.add(d.pattern.text.toLowerCase());
  for (const v of cfg.vmtas.values()) for (const d of v.domains) domains.add(d.pattern.text.toLowerCase());
  for (const p of cfg.pools.values()) for (const d of p.domains) domains.add(d.pattern.text.toLowerCase());
  return {
    files: [...cfg.files],
    listeners,
    sources: cfg.sources.map((s) => (s.match.kind === 'cidr' ? `${s.match.cidr.address}/${s.match.cidr.prefix}` : s.match.name)),
    smtpUsers: [...cfg.smtpUsers.keys()],
    vmtas: [...cfg.vmtas.keys()],
    pools: Object.fromEntries([...cfg.pools.values()].map((p) => [p.name, p.members])),
    domains: [...domains],
  };
}

export function listenerText(l: Listener): string {
  const host = l.family === 6 ? `[${l.address}]` : l.address;
  const opts = Object.entries(l.options).map(([k, v]) => ` ${k}=${v}`).join('');
  return `${host}:${l.port}${opts}`;
}

/** JSON-safe rendering of a parsed value. */
export function plainValue(v: unknown): unknown {
  if (v === Infinity) return 'unlimited';
  if (v instanceof RegExp) return `/${v.source}/`;
  if (Array.isArray(v)) return v.map(plainValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainValue(x)]));
  return v;
}

export function fromText(r: Resolved, cwd = process.cwd()): string {
  if (r.from === 'default') return 'default';
  return `${path.relative(cwd, r.from.file) || r.from.file}:${r.from.line}`;
}

export function resolvedToJson(r: Resolved): Record<string, unknown> {
  return {
    directive: r.name,
    value: plainValue(r.value),
    raw: r.raw ?? null,
    from: r.from === 'default' ? 'default' : { file: r.from.file, line: r.from.line },
    ...(r.cleared ? { cleared: true } : {}),
    status: r.spec.status,
  };
}

export interface SettingsQuery {
  readonly domain?: string;
  readonly vmta?: string;
  readonly pool?: string;
  readonly source?: string;
  readonly named?: readonly string[];
}

/** The sections `show settings` prints for a query. */
export function effectiveSettings(resolver: ConfigResolver, q: SettingsQuery): Array<{ title: string; settings: Resolved[] }> {
  const sections: Array<{ title: string; settings: Resolved[] }> = [];
  const wantQueue = q.domain !== undefined || q.vmta !== undefined;
  if (wantQueue) {
    const domain = q.domain ?? '*';
    sections.push({ title: `queue ${domain}/${q.vmta ?? '{default}'}`, settings: resolver.domainAll(domain, q.vmta, q.pool) });
    sections.push({ title: `virtual-mta ${q.vmta ?? '{default}'}`, settings: resolver.vmtaAll(q.vmta) });
  }
  if (q.source !== undefined || (q.named && q.named.length > 0)) {
    sections.push({ title: `source ${[...(q.named ?? []), q.source ?? ''].filter(Boolean).join(' + ')}`, settings: resolver.sourceAll(q.source ?? '0.0.0.0', q.named ?? []) });
  }
  if (sections.length === 0) sections.push({ title: 'global', settings: resolver.globalAll() });
  return sections;
}
