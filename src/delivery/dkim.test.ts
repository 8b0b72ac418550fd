/**
 * @module delivery/dkim.test
 *
 * DKIM signing, checked the way a receiver checks it: every signature is
 * verified by mailauth's verifier against the public key derived from the
 * fixture's private key (served by a resolver function, and once by a real
 * DNS server on loopback). Tampering tests prove the verification can fail.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as dns from 'node:dns';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import type { DKIMResult } from 'mailauth';
import { loadConfig } from '../config/loader.js';
import { ConfigResolver } from '../config/resolve.js';
import { FakeClock } from '../util/clock.js';
import { TestDnsServer } from '../../test/harness/dns-server.js';
import { DkimSigner } from './dkim.js';
import type { DkimSignResult } from './dkim.js';
import { isDkimConfigError } from './dkim-errors.js';
import { addressDomain, parseDkimIdentity } from './dkim-identity.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.resolve(here, '../../test/fixtures/config/realistic');
const KEYS = path.join(FIXTURES, 'keys');
const RSA_MAIN = path.join(KEYS, 'dkim-2026.pem');
const RSA_NEWS = path.join(KEYS, 'dkim-news-2026.pem');
const ED = path.join(KEYS, 'dkim-ed25519-2026.pem');

// ---- helpers ---------------------------------------------------------------

/** `v=DKIM1; k=…; p=…` for the public half of a private key file (RFC 6376 §3.6.1, RFC 8463 §4). */
function publicTxt(keyFile: string): string {
  const pub = crypto.createPublicKey(crypto.createPrivateKey(fs.readFileSync(keyFile)));
  const der = pub.export({ type: 'spki', format: 'der' });
  if (pub.asymmetricKeyType === 'ed25519') return `v=DKIM1; k=ed25519; p=${der.subarray(der.length - 32).toString('base64')}`;
  return `v=DKIM1; k=rsa; p=${der.toString('base64')}`;
}

/** The public records the realistic fixture says to publish. */
const ZONE = new Map<string, string>([
  ['s2026._domainkey.example.com', publicTxt(RSA_MAIN)],
  ['news2026._domainkey.news.example.com', publicTxt(RSA_NEWS)],
  ['brand2026._domainkey.example.org', publicTxt(RSA_NEWS)],
  ['ed2026._domainkey.example.com', publicTxt(ED)],
]);

function resolverFor(zone: ReadonlyMap<string, string>) {
  return async (name: string, rrtype: string): Promise<string[][]> => {
    const txt = rrtype === 'TXT' ? zone.get(name.toLowerCase()) : undefined;
    if (txt === undefined) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return [[txt]];
  };
}

async function verify(signed: Buffer | string, opts: { zone?: ReadonlyMap<string, string>; curTime?: Date } = {}): Promise<DKIMResult[]> {
  const res = await dkimVerify(signed, { resolver: resolverFor(opts.zone ?? ZONE), ...(opts.curTime ? { curTime: opts.curTime } : {}) });
  return res.results;
}

function onlyResult(results: DKIMResult[]): DKIMResult {
  assert.equal(results.length, 1, `one signature expected, got ${results.length}`);
  return results[0]!;
}

/** The DKIM-Signature field of a signed message, unfolded. */
function sigField(signed: Buffer): string {
  const m = /^DKIM-Signature:((?:.*\r\n)(?:[ \t].*\r\n)*)/.exec(signed.toString('latin1'));
  assert.ok(m, 'message starts with a DKIM-Signature field');
  return m[1]!.replace(/\r\n/g, '');
}

function tag(field: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|;)\\s*${name}=([^;]*)`).exec(field);
  return m ? m[1]!.replace(/\s+/g, '') : undefined;
}

function msg(headers: Record<string, string> | [string, string][], body = 'Hello,\r\nthis is a test.\r\n'): Buffer {
  const list = Array.isArray(headers) ? headers : Object.entries(headers);
  return Buffer.from(`${list.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`);
}

function basic(from: string, extra: Record<string, string> = {}): Buffer {
  return msg({
    From: from,
    To: 'rcpt@gmail.com',
    Subject: 'Monthly news',
    Date: 'Mon, 02 Mar 2026 10:00:00 +0000',
    'Message-ID': '<1@out.example.com>',
    'MIME-Version': '1.0',
    'Content-Type': 'text/plain; charset=utf-8',
    'List-Unsubscribe': '<mailto:unsub@example.com>',
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    ...extra,
  });
}

function realistic(opts: { clock?: FakeClock } = {}): DkimSigner {
  const { config, diagnostics } = loadConfig(path.join(FIXTURES, 'dkim.conf'));
  assert.ok(config, diagnostics.map((d) => d.message).join('\n'));
  return DkimSigner.fromConfig(config, new ConfigResolver(config), opts);
}

const tmpDirs: string[] = [];
afterEach(() => {
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempConfigFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-dkim-'));
  tmpDirs.push(dir);
  const file = path.join(dir, 'petrel.conf');
  fs.writeFileSync(file, `postmaster postmaster@example.com\n${text}\n`);
  return file;
}

/** A signer from a small config of our own: global RSA key for example.com, `<domain *>` settings from `domainLines`. */
function own(domainLines: string, opts: { clock?: FakeClock; extra?: string } = {}): DkimSigner {
  const file = tempConfigFile(`domain-key s2026,example.com,${RSA_MAIN}\n${opts.extra ?? ''}\n<domain *>\n  dkim-sign yes\n${domainLines}\n</domain>`);
  const { config, diagnostics } = loadConfig(file);
  assert.ok(config, diagnostics.map((d) => d.message).join('\n'));
  return DkimSigner.fromConfig(config, new ConfigResolver(config), opts);
}

function assertSigned(r: DkimSignResult): void {
  assert.equal(r.skipped, undefined, `unexpectedly skipped: ${r.skipped}`);
  assert.equal(r.signatures.length, 1);
}

const Q = { domain: 'gmail.com', mailFrom: 'bounces@example.com' };

// ---- the realistic fixture ------------------------------------------------------------------

describe('DkimSigner with the realistic dkim.conf', () => {
  it('loads each key file once, even when two domain-key lines name it', () => {
    const s = realistic();
    const keys = s.loadedKeys;
    assert.deepEqual(keys.map((k) => `${k.scope}:${k.selector},${k.domain},${k.type}`).sort(), [
      'brand-a:brand2026,example.org,rsa',
      'brand-ed:ed2026,example.com,ed25519',
      'global:news2026,news.example.com,rsa',
      'global:s2026,example.com,rsa',
    ]);
    const news = keys.filter((k) => k.keyFile === RSA_NEWS);
    assert.equal(news.length, 2);
    assert.equal(news[0]!.key, news[1]!.key, 'one KeyObject per file');
  });

  it('signs From: example.com through brand-a with the global key, rsa-sha256 relaxed/relaxed, and it verifies', async () => {
    const r = await realistic().sign(basic('"News" <news@example.com>'), { ...Q, vmta: 'brand-a' });
    assertSigned(r);
    assert.deepEqual(r.signatures[0], { domain: 'example.com', selector: 's2026', algorithm: 'rsa-sha256' });
    const f = sigField(r.signed);
    assert.equal(tag(f, 'c'), 'relaxed/relaxed');
    const h = tag(f, 'h')!.toLowerCase().split(':');
    for (const name of ['from', 'to', 'subject', 'date', 'message-id', 'mime-version', 'content-type', 'list-unsubscribe', 'list-unsubscribe-post']) {
      assert.ok(h.includes(name), `h= signs ${name}: ${h.join(':')}`);
    }
    assert.equal(tag(f, 't'), undefined, 'no t= unless dkim-add-timestamp');
    assert.equal(tag(f, 'l'), undefined);
    assert.ok(!/(^|[^\r])\n/.test(r.signed.toString('latin1')), 'CRLF line ends only');
    const v = onlyResult(await verify(r.signed));
    assert.equal(v.status.result, 'pass', v.status.comment);
    assert.equal(v.signingDomain, 'example.com');
  });

  it('signs From: example.org through brand-a with the VMTA key', async () => {
    const r = await realistic().sign(basic('a@Example.ORG'), { ...Q, vmta: 'brand-a' });
    assertSigned(r);
    assert.deepEqual(r.signatures[0], { domain: 'example.org', selector: 'brand2026', algorithm: 'rsa-sha256' });
    assert.equal(onlyResult(await verify(r.signed)).status.result, 'pass');
  });

  it('brand-b forces the identity @news.example.com and signs List-Id from its own dkim-headers', async () => {
    const r = await realistic().sign(basic('someone@example.com', { 'List-Id': '<news.example.com>' }), { ...Q, vmta: 'brand-b' });
    assertSigned(r);
    assert.deepEqual(r.signatures[0], { domain: 'news.example.com', selector: 'news2026', algorithm: 'rsa-sha256' });
    assert.ok(tag(sigField(r.signed), 'h')!.toLowerCase().split(':').includes('list-id'));
    assert.equal(onlyResult(await verify(r.signed)).status.result, 'pass');
  });

  it('brand-ed signs ed25519-sha256 (RFC 8463) with its Ed25519 key, and it verifies', async () => {
    const r = await realistic().sign(basic('news@example.com'), { ...Q, vmta: 'brand-ed' });
    assertSigned(r);
    assert.deepEqual(r.signatures[0], { domain: 'example.com', selector: 'ed2026', algorithm: 'ed25519-sha256' });
    assert.equal(r.notes, undefined);
    const v = onlyResult(await verify(r.signed));
    assert.equal(v.status.result, 'pass', v.status.comment);
    assert.match(v.info, /header\.a=ed25519-sha256/);
  });

  it('the Sender: header, when present, names the identity (sender-or-from)', async () => {
    const r = await realistic().sign(basic('author@example.org', { Sender: 'Mailer <list@news.example.com>' }), { ...Q, vmta: 'brand-a' });
    assert.deepEqual(r.signatures[0], { domain: 'news.example.com', selector: 'news2026', algorithm: 'rsa-sha256' });
    assert.equal(onlyResult(await verify(r.signed)).status.result, 'pass');
  });

  it('a domain without a key leaves the message unsigned, with the reason', async () => {
    const m = basic('x@unknown.example');
    const r = await realistic().sign(m, { ...Q, vmta: 'brand-a' });
    assert.equal(r.signed, m);
    assert.deepEqual(r.signatures, []);
    assert.match(r.skipped ?? '', /no domain-key for unknown\.example/);
    assert.equal(onlyResult(await verify(r.signed)).status.result, 'none', 'nothing to verify');
  });

  it('example.org is signed only through brand-a: its key is not global', async () => {
    const r = await realistic().sign(basic('a@example.org'), { ...Q, vmta: 'brand-ed' });
    assert.match(r.skipped ?? '', /no domain-key for example\.org \(dkim-identity sender-or-from, virtual-mta brand-ed\)/);
    const r2 = await realistic().sign(basic('a@example.org'), Q);
    assert.match(r2.skipped ?? '', /no domain-key for example\.org/);
  });

  it('dkim-sign no for the queue domain leaves the message unsigned', async () => {
    for (const domain of ['partner.example.net', 'partner.example.org']) {
      const r = await realistic().sign(basic('news@example.com'), { ...Q, domain, vmta: 'brand-a' });
      assert.deepEqual(r.signatures, []);
      assert.match(r.skipped ?? '', /dkim-sign no/);
    }
  });

  it('[*.]example.net forces @example.net, which has no key: unsigned with the reason', async () => {
    const r = await realistic().sign(basic('news@example.com'), { ...Q, domain: 'mx.example.net', vmta: 'brand-a' });
    assert.match(r.skipped ?? '', /no domain-key for example\.net \(dkim-identity @example\.net/);
  });

  it('a tampered body or a changed signed header fails verification', async () => {
    const r = await realistic().sign(basic('news@example.com'), { ...Q, vmta: 'brand-a' });
    assert.equal(onlyResult(await verify(r.signed)).status.result, 'pass');
    const body = Buffer.from(r.signed.toString('latin1').replace('this is a test.', 'this is a tesT.'), 'latin1');
    const vb = onlyResult(await verify(body));
    assert.equal(vb.status.result, 'neutral');
    assert.match(vb.status.comment ?? '', /body hash did not verify/);
    const subj = Buffer.from(r.signed.toString('latin1').replace('Subject: Monthly news', 'Subject: Monthly newz'), 'latin1');
    assert.equal(onlyResult(await verify(subj)).status.result, 'fail');
  });

  it('a signature checked against the wrong public key fails', async () => {
    const r = await realistic().sign(basic('news@example.com'), { ...Q, vmta: 'brand-a' });
    const wrong = new Map(ZONE).set('s2026._domainkey.example.com', publicTxt(RSA_NEWS));
    assert.equal(onlyResult(await verify(r.signed, { zone: wrong })).status.result, 'fail');
  });
});

// ---- settings from a small config of our own ------------------------------------------------

describe('DkimSigner settings', () => {
  it('simple/simple canonicalisation: verifies, and whitespace changes relaxed tolerates break it', async () => {
    const plain = basic('news@example.com');
    const simple = await own('  dkim-headers-canon simple\n  dkim-body-canon simple').sign(plain, Q);
    const relaxed = await own('  dkim-headers-canon relaxed').sign(plain, Q);
    assert.equal(tag(sigField(simple.signed), 'c'), 'simple/simple');
    assert.equal(tag(sigField(relaxed.signed), 'c'), 'relaxed/relaxed');
    for (const r of [simple, relaxed]) assert.equal(onlyResult(await verify(r.signed)).status.result, 'pass');
    const reflow = (b: Buffer): Buffer => Buffer.from(b.toString('latin1').replace('Subject: Monthly news', 'Subject:  Monthly   news').replace('this is a test.', 'this  is a test.  '), 'latin1');
    assert.equal(onlyResult(await verify(reflow(relaxed.signed))).status.result, 'pass');
    assert.notEqual(onlyResult(await verify(reflow(simple.signed))).status.result, 'pass');
  });

  it('mixed canonicalisation relaxed/simple', async () => {
    const r = await own('  dkim-headers-canon relaxed\n  dkim-body-canon simple').sign(basic('news@example.com'), Q);
    assert.equal(tag(sigField(r.signed), 'c'), 'relaxed/simple');
    assert.equal(onlyResult(await verify(r.signed)).status.result, 'pass');
  });

  it('dkim-disallow-adding-headers over-signs: an added Subject or Reply-To then breaks the signature', async () => {
    const m = basic('news@example.com');
    const open = await own('').sign(m, Q);
    const locked = await own('  dkim-disallow-adding-headers yes').sign(m, Q);
    const h = tag(sigField(locked.signed), 'h')!.toLowerCase().split(':');
    assert.equal(h.filter((n) => n === 'subject').length, 2, 'Subject listed once more than it occurs');
    assert.equal(h.filter((n) => n === 'reply-to').length, 1, 'absent Reply-To listed once');
    for (const r of [open, locked]) assert.equal(onlyResult(await verify(r.signed)).status.result, 'pass');
    const addHeader = (b: Buffer, line: string): Buffer => Buffer.concat([Buffer.from(`${line}\r\n`), b]);
    // without over-signing the replay succeeds (which is why the directive exists) ...
    assert.equal(onlyResult(await verify(addHeader(open.signed, 'Subject: You won'))).status.result, 'pass');
    assert.equal(onlyResult(await verify(addHeader(open.signed, 'Reply-To: thief@evil.example'))).status.result, 'pass');
    // ... with it, it fails
    assert.equal(onlyResult(await verify(addHeader(locked.signed, 'Subject: You won'))).status.result, 'fail');
    assert.equal(onlyResult(await verify(addHeader(locked.signed, 'Reply-To: thief@evil.example'))).status.result, 'fail');
  });

  it('dkim-disallow-adding-headers with a list over-signs only those names', async () => {
    const r = await own('  dkim-disallow-adding-headers From, Reply-To').sign(basic('news@example.com'), Q);
    const h = tag(sigField(r.signed), 'h')!.toLowerCase().split(':');
    assert.equal(h.filter((n) => n === 'from').length, 2);
    assert.equal(h.filter((n) => n === 'reply-to').length, 1);
    assert.equal(h.filter((n) => n === 'subject').length, 1);
    assert.equal(onlyResult(await verify(r.signed)).status.result, 'pass');
  });

  it('l=, t= and x= from dkim-add-body-limit, dkim-add-timestamp and dkim-expire-after', async () => {
    const t0 = Date.UTC(2026, 2, 2, 10, 0, 0);
    const clock = new FakeClock(t0);
    const r = await own('  dkim-add-body-limit yes\n  dkim-add-timestamp yes\n  dkim-expire-after 1h', { clock }).sign(basic('news@example.com'), Q);
    const f = sigField(r.signed);
    assert.equal(tag(f, 't'), String(t0 / 1000));
    assert.equal(tag(f, 'x'), String(t0 / 1000 + 3600));
    assert.equal(tag(f, 'l'), String(Buffer.byteLength('Hello,\r\nthis is a test.\r\n')));
    assert.equal(onlyResult(await verify(r.signed, { curTime: new Date(t0 + 10_000) })).status.result, 'pass');
    const late = onlyResult(await verify(r.signed, { curTime: new Date(t0 + 2 * 3600_000) }));
    assert.notEqual(late.status.result, 'pass');
    // l= covers the body as signed: text appended later is outside it (RFC 6376 §8.2)
    const appended = Buffer.concat([r.signed, Buffer.from('P.S. appended\r\n')]);
    assert.equal(onlyResult(await verify(appended, { curTime: new Date(t0 + 10_000) })).status.result, 'pass');
  });

  it('dkim-expire-after never writes no x=', async () => {
    const r = await own('  dkim-expire-after never').sign(basic('news@example.com'), Q);
    assert.equal(tag(sigField(r.signed), 'x'), undefined);
  });

  it('matches mailauth dkimSign byte for byte (same time, headers and key)', async () => {
    const t0 = Date.UTC(2026, 2, 2, 10, 0, 0);
    const m = basic('news@example.com', { Cc: 'c@example.net' });
    for (const canon of ['relaxed/relaxed', 'simple/simple']) {
      const [hc, bc] = canon.split('/');
      const r = await own(`  dkim-add-timestamp yes\n  dkim-headers-canon ${hc}\n  dkim-body-canon ${bc}`, { clock: new FakeClock(t0) }).sign(m, Q);
      const theirs = await dkimSign(m, {
        canonicalization: canon,
        signTime: new Date(t0),
        // mailauth reads headerList as a colon-separated string, whatever its .d.ts says
        headerList: 'From:Sender:To:Cc:Subject:Date:Message-ID:Reply-To:MIME-Version:Content-Type:Content-Transfer-Encoding:List-Unsubscribe:List-Unsubscribe-Post:Feedback-ID' as unknown as string[],
        signatureData: [{ signingDomain: 'example.com', selector: 's2026', privateKey: fs.readFileSync(RSA_MAIN) }],
      } as Parameters<typeof dkimSign>[1]);
      assert.deepEqual(theirs.errors, []);
      assert.equal(r.signed.toString('latin1'), theirs.signatures + m.toString('latin1'));
    }
  });

  it('dkim-identity-fallback is used when the identity has no key', async () => {
    const r = await own('  dkim-identity @nokey.example\n  dkim-identity-fallback @example.com').sign(basic('a@elsewhere.example'), Q);
    assert.deepEqual(r.signatures[0], { domain: 'example.com', selector: 's2026', algorithm: 'rsa-sha256' });
    assert.equal(onlyResult(await verify(r.signed)).status.result, 'pass');
    const none = await own('  dkim-identity @nokey.example\n  dkim-identity-fallback @nokey2.example').sign(basic('a@example.com'), Q);
    assert.match(none.skipped ?? '', /nokey\.example.*nokey2\.example/);
  });

  it('an address identity sets i=, and it verifies', async () => {
    const r = await own('  dkim-identity mailer@example.com').sign(basic('a@elsewhere.example'), Q);
    const f = sigField(r.signed);
    assert.equal(tag(f, 'i'), 'mailer@example.com');
    assert.equal(tag(f, 'd'), 'example.com');
    assert.equal(onlyResult(await verify(r.signed)).status.result, 'pass');
  });

  it('mail-from (Petrel extension) takes the envelope sender domain; the null sender leaves it unsigned', async () => {
    const s = own('  dkim-identity mail-from');
    assert.equal((await s.sign(basic('a@elsewhere.example'), { ...Q, mailFrom: 'b@example.com' })).signatures[0]?.domain, 'example.com');
    assert.match((await s.sign(basic('a@example.com'), { ...Q, mailFrom: '' })).skipped ?? '', /envelope sender is empty/);
  });

  it('dkim-sign unset or if-x-dkim-options-present', async () => {
    const file = tempConfigFile(`domain-key s2026,example.com,${RSA_MAIN}\n<domain a.example>\n  dkim-sign if-x-dkim-options-present\n</domain>`);
    const { config } = loadConfig(file);
    assert.ok(config);
    const s = DkimSigner.fromConfig(config, new ConfigResolver(config));
    assert.match((await s.sign(basic('n@example.com'), Q)).skipped ?? '', /dkim-sign is not set/);
    assert.match((await s.sign(basic('n@example.com'), { ...Q, domain: 'a.example' })).skipped ?? '', /X-DKIM-Options/);
    const r = await s.sign(basic('n@example.com', { 'X-DKIM-Options': 'yes' }), { ...Q, domain: 'a.example' });
    assertSigned(r);
    assert.equal(onlyResult(await verify(r.signed)).status.result, 'pass');
  });

  it('a key of the other type: prefers one matching dkim-algorithm, else signs with the key\'s own algorithm and notes it', async () => {
    const extra = `<virtual-mta v1>\n  domain-key ed2026,example.com,${ED}\n</virtual-mta>\n<virtual-mta v2>\n  domain-key ed2026,*,${ED}\n  domain-key ""\n</virtual-mta>`;
    const s = own('', { extra });
    // v1: VMTA Ed25519 key and global RSA key; rsa-sha256 (default) asked → the RSA one
    const r1 = await s.sign(basic('a@example.com'), { ...Q, vmta: 'v1' });
    assert.deepEqual(r1.signatures[0], { domain: 'example.com', selector: 's2026', algorithm: 'rsa-sha256' });
    // v2: only its own `*` Ed25519 key (global keys cleared) → ed25519-sha256 with a note
    const r2 = await s.sign(basic('a@example.com'), { ...Q, vmta: 'v2' });
    assert.deepEqual(r2.signatures[0], { domain: 'example.com', selector: 'ed2026', algorithm: 'ed25519-sha256' });
    assert.match(r2.notes?.[0] ?? '', /rsa-sha256 asked.*ed25519/);
    assert.equal(onlyResult(await verify(r2.signed)).status.result, 'pass');
  });

  it('a message with bare LF line ends is signed in CRLF form and verifies', async () => {
    const lf = Buffer.from(basic('news@example.com').toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    const r = await own('').sign(lf, Q);
    assert.ok(!/(^|[^\r])\n/.test(r.signed.toString('latin1')));
    assert.equal(onlyResult(await verify(r.signed)).status.result, 'pass');
  });

  it('no From: header → unsigned', async () => {
    const r = await own('').sign(msg({ To: 'x@gmail.com', Subject: 's' }), { ...Q });
    assert.match(r.skipped ?? '', /no From: header/);
  });
});

// ---- configuration errors -------------------------------------------------------------------

describe('DkimSigner.fromConfig errors', () => {
  it('refuses dkim-algorithm rsa-sha1 (RFC 8301) naming the line', () => {
    const file = tempConfigFile(`domain-key s2026,example.com,${RSA_MAIN}\n<domain legacy.example>\n  dkim-algorithm rsa-sha1\n</domain>`);
    const { config } = loadConfig(file);
    assert.ok(config);
    assert.throws(
      () => DkimSigner.fromConfig(config, new ConfigResolver(config)),
      (e: unknown) => isDkimConfigError(e, 'ALGORITHM_REFUSED') && e.directive === 'dkim-algorithm' && /petrel\.conf:4:.*RFC 8301/.test(e.message),
    );
  });

  it('a key file that is PEM but not a key → KEY_INVALID naming domain-key and the file', () => {
    const file = tempConfigFile('domain-key bad,example.com,bad.pem');
    const bad = path.join(path.dirname(file), 'bad.pem');
    fs.writeFileSync(bad, '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n');
    const { config, diagnostics } = loadConfig(file);
    assert.ok(config, diagnostics.map((d) => d.message).join('\n'));
    assert.throws(
      () => DkimSigner.fromConfig(config, new ConfigResolver(config)),
      (e: unknown) => isDkimConfigError(e, 'KEY_INVALID') && e.file === bad && e.message.includes('domain-key') && e.message.includes(bad),
    );
  });

  it('a key file gone since the config was loaded → KEY_UNREADABLE', () => {
    const file = tempConfigFile('domain-key gone,example.com,gone.pem');
    const gone = path.join(path.dirname(file), 'gone.pem');
    fs.copyFileSync(RSA_MAIN, gone);
    const { config } = loadConfig(file);
    assert.ok(config);
    fs.rmSync(gone);
    assert.throws(
      () => DkimSigner.fromConfig(config, new ConfigResolver(config)),
      (e: unknown) => isDkimConfigError(e, 'KEY_UNREADABLE') && e.file === gone && /ENOENT/.test(e.message),
    );
  });

  it('an RSA key under 1024 bits → KEY_UNSUPPORTED', () => {
    const file = tempConfigFile('domain-key small,example.com,small.pem');
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 512 });
    fs.writeFileSync(path.join(path.dirname(file), 'small.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const { config } = loadConfig(file);
    assert.ok(config);
    assert.throws(() => DkimSigner.fromConfig(config, new ConfigResolver(config)), (e: unknown) => isDkimConfigError(e, 'KEY_UNSUPPORTED') && /512 bits/.test(e.message));
  });
});

// ---- identity parsing -----------------------------------------------------------------------

describe('dkim identity parsing', () => {
  it('reads the domain of header addresses', () => {
    assert.equal(addressDomain('"Smith, John (Sales)" <john@Example.COM>'), 'example.com');
    assert.equal(addressDomain('john@example.com (John)'), 'example.com');
    assert.equal(addressDomain('"a@b.example" <c@d.example>'), 'd.example');
    assert.equal(addressDomain('Team: a@team.example, b@other.example;'), 'team.example');
    assert.equal(addressDomain('=?utf-8?q?J=C3=B6rg?= <j@x.example>'), 'x.example');
    assert.equal(addressDomain('undisclosed-recipients:;'), undefined);
    assert.equal(addressDomain('no address here'), undefined);
  });

  it('reads dkim-identity values', () => {
    assert.deepEqual(parseDkimIdentity('Sender-Or-From'), { kind: 'sender-or-from' });
    assert.deepEqual(parseDkimIdentity('@News.Example.com'), { kind: 'domain', domain: 'news.example.com' });
    assert.deepEqual(parseDkimIdentity('bounce@Example.com'), { kind: 'address', address: 'bounce@example.com', domain: 'example.com' });
    assert.deepEqual(parseDkimIdentity('example.com'), { kind: 'domain', domain: 'example.com' });
    assert.equal(parseDkimIdentity('@'), undefined);
  });
});

// ---- through a real DNS server on loopback --------------------------------------------------

describe('verification through DNS', () => {
  it('verifies with the selector record served by TestDnsServer', async () => {
    const server = await TestDnsServer.start();
    try {
      server.set('s2026._domainkey.example.com', [{ type: 'TXT', data: ZONE.get('s2026._domainkey.example.com')! }]);
      server.set('ed2026._domainkey.example.com', [{ type: 'TXT', data: ZONE.get('ed2026._domainkey.example.com')! }]);
      const resolver = new dns.promises.Resolver({ timeout: 2000, tries: 1 });
      resolver.setServers([server.address]);
      const viaDns = async (name: string, rrtype: string): Promise<string[][]> => {
        assert.equal(rrtype, 'TXT');
        return resolver.resolveTxt(name);
      };
      const s = realistic();
      for (const vmta of ['brand-a', 'brand-ed']) {
        const r = await s.sign(basic('news@example.com'), { ...Q, vmta });
        const ok = onlyResult((await dkimVerify(r.signed, { resolver: viaDns })).results);
        assert.equal(ok.status.result, 'pass', `${vmta}: ${ok.status.comment}`);
      }
      // a selector the zone does not have: not a pass
      const news = await s.sign(basic('x@news.example.com'), { ...Q, vmta: 'brand-a' });
      const missing = onlyResult((await dkimVerify(news.signed, { resolver: viaDns })).results);
      assert.notEqual(missing.status.result, 'pass');
    } finally {
      await server.stop();
    }
  });
});
