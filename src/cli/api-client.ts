/**
 * @module cli/api-client
 *
 * The CLI's side of the management API: `ApiClient` (fetch, JSON, the
 * bearer token) returning the shared v1 types, `ApiClientError` for
 * `{ error: { code, message } }` answers and unreachable servers, and
 * `resolveEndpoint` — `--url`, else `http://127.0.0.1:<http-mgmt-port>`
 * from the configuration file (read-only; 8080 when unset or unreadable).
 *
 * Exports: `ApiClient`, `ApiClientError`, `resolveEndpoint`, `queuePath`,
 * `splitQueue`.
 */
import { hasErrors, loadConfig } from '../config/loader.js';
import { lastSetting } from '../config/model.js';
import type { ApiErrorBody, DiagnosticJson } from '../management/api/v1/types.js';

export const DEFAULT_MGMT_PORT = 8080;

export class ApiClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly diagnostics?: readonly DiagnosticJson[],
  ) {
    super(message);
  }

  toJson(): ApiErrorBody | { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message, ...(this.diagnostics ? { diagnostics: this.diagnostics } : {}) } };
  }
}

type Query = Record<string, string | number | boolean | undefined>;

export class ApiClient {
  readonly base: string;
  constructor(
    base: string,
    private readonly token?: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = base.replace(/\/+$/, '');
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.#call<T>('GET', path, query);
  }

  post<T>(path: string, body?: unknown, query?: Query): Promise<T> {
    return this.#call<T>('POST', path, query, body);
  }

  delete<T>(path: string, query?: Query): Promise<T> {
    return this.#call<T>('DELETE', path, query);
  }

  async #call<T>(method: string, path: string, query?: Query, body?: unknown): Promise<T> {
    const url = new URL(this.base + '/api/v1/' + path.replace(/^\/+/, ''));
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiClientError(0, 'UNREACHABLE', `cannot reach the Petrel management API at ${this.base}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiClientError(res.status, 'BAD_RESPONSE', `${method} ${url.pathname}: HTTP ${res.status}, not JSON`);
    }
    if (!res.ok) {
      const err = (json as Partial<ApiErrorBody> | undefined)?.error;
      throw new ApiClientError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? `HTTP ${res.status}`, err?.diagnostics);
    }
    return json as T;
  }
}

/** The API's base URL: `--url`, else loopback at the configuration's `http-mgmt-port`. */
export function resolveEndpoint(opts: { url?: string; config?: string }): string {
  if (opts.url) {
    const u = new URL(opts.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`--url must be http:// or https://, got ${opts.url}`);
    return u.origin + u.pathname.replace(/\/+$/, '');
  }
  let port = DEFAULT_MGMT_PORT;
  if (opts.config) {
    try {
      const res = loadConfig(opts.config);
      const p = res.config && !hasErrors(res.diagnostics) ? lastSetting<number>(res.config.global, 'http-mgmt-port')?.value : undefined;
      if (typeof p === 'number' && p > 0) port = p;
    } catch {
      // An unreadable configuration: the default port.
    }
  }
  return `http://127.0.0.1:${port}`;
}

/** `domain/vmta` split at the last slash; a bare domain means every VMTA of it (`domain/*`). */
export function splitQueue(q: string): { domain: string; vmta: string } {
  const slash = q.lastIndexOf('/');
  if (slash < 0) return { domain: q, vmta: '*' };
  if (slash === 0 || slash === q.length - 1) throw new Error(`queue must be DOMAIN/VMTA (or DOMAIN), got '${q}'`);
  return { domain: q.slice(0, slash), vmta: q.slice(slash + 1) };
}

/** `queues/<domain>/<vmta>` with both parts URL-encoded. */
export function queuePath(q: { domain: string; vmta: string }, suffix = ''): string {
  return `queues/${encodeURIComponent(q.domain)}/${encodeURIComponent(q.vmta)}${suffix ? '/' + suffix : ''}`;
}
