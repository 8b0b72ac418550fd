/**
 * @module test/accounting/helpers
 *
 * Shared helpers for the accounting tests: temporary directories, a small
 * RFC 4180 CSV parser (quotes, doubled quotes, commas and newlines inside
 * quoted fields) written independently of the writer, config text → config,
 * and event builders.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfigText } from '../../src/config/loader.js';
import type { PetrelConfig } from '../../src/config/model.js';
import type { AcctEvent } from '../../src/accounting/index.js';

export function tempDir(prefix = 'petrel-acct-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Parses CSV text into rows of fields. Throws on a quote in the middle of an unquoted field or an unterminated quote. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  let fieldStarted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        const next = text[i];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') throw new Error(`text after a closing quote at ${i}`);
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      if (fieldStarted) throw new Error(`quote inside an unquoted field at ${i}`);
      quoted = true;
      fieldStarted = true;
      i++;
    } else if (c === ',') {
      row.push(field);
      field = '';
      fieldStarted = false;
      i++;
    } else if (c === '\n' || c === '\r') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      fieldStarted = false;
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += c;
      fieldStarted = true;
      i++;
    }
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (fieldStarted || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** A CSV file as header + records keyed by column; checks every record has the header's width. */
export function readCsv(file: string): { header: string[]; records: Record<string, string>[]; text: string } {
  const text = readFileSync(file, 'utf8');
  const [header, ...rows] = parseCsv(text);
  if (!header) return { header: [], records: [], text };
  const records = rows.map((r, n) => {
    if (r.length !== header.length) throw new Error(`${file}: record ${n + 1} has ${r.length} fields, header has ${header.length}`);
    return Object.fromEntries(header.map((h, k) => [h, r[k]!]));
  });
  return { header, records, text };
}

export function config(text: string): PetrelConfig {
  const r = loadConfigText(text, '/virtual/petrel.conf');
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (!r.config || errors.length > 0) throw new Error(`config: ${JSON.stringify(errors)}`);
  return r.config;
}

const ARRIVED = Date.UTC(2016, 4, 28, 21, 0, 0);

/** A delivery-side event for recipient `rcpt` with sensible facts; `over` replaces any part. */
export function event(type: AcctEvent['type'], rcpt: string, over: Partial<AcctEvent> = {}): AcctEvent {
  const headers: Record<string, string> = { 'x-job': 'job-42', subject: 'Hello, "world"', 'x-hmxmroriginalrecipient': 'orig@hotmail.com' };
  return {
    type,
    time: Date.UTC(2016, 4, 28, 23, 10, 51),
    envelope: {
      id: 'M1',
      size: 4202,
      mailFrom: 'sender@example.com',
      recipients: [{ address: rcpt }],
      sourceIp: '192.0.2.7',
      authUser: 'alice',
      vmta: 'mta02-range16',
      jobId: '5295466',
      arrivedAt: ARRIVED,
    },
    recipient: { address: rcpt, orcpt: `rfc822;${rcpt}` },
    outcome:
      type === 'd'
        ? { action: 'relayed', status: '2.0.0', diagnostic: 'smtp;250 2.0.0 ok', mta: 'mx.example.net (198.51.100.5)', category: 'success' }
        : { action: type === 'b' ? 'failed' : 'delayed', status: type === 'b' ? '5.1.1' : '4.0.0', diagnostic: 'smtp;550 5.1.1 <x>: no such user, sorry', mta: 'mx.example.net (198.51.100.5)', category: 'bad-mailbox' },
    delivery: { sourceIp: '203.0.113.1', destinationIp: '198.51.100.5', esmtpAvailable: 'PIPELINING,8BITMIME,SIZE,STARTTLS', tlsProtocol: 'TLSv1.3', tlsCipher: 'TLS_AES_256_GCM_SHA384' },
    queue: 'example.net/mta02-range16',
    headers: (name) => headers[name.toLowerCase()],
    ...over,
  };
}
