/**
 * recommend(): the seed article's reasoning as a table of made-up ports.
 * This is where the paths loopback cannot produce are tested: a port that
 * times out (filtered by an ISP or a cloud provider), an unreachable
 * network, TLS 1.0/1.1 only, expired certificates.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { recommend, type PortFacts } from '../../src/probe/recommend.js';
import { roleOf } from '../../src/probe/probe.js';

const GOOD_CERT = { checkedName: 'smtp.example.com', names: ['smtp.example.com'], trusted: true, nameMatches: true, timeValid: true };

/** A port that works over STARTTLS with AUTH only after TLS, unless told otherwise. */
function port(n: number, over: Partial<PortFacts> = {}): PortFacts {
  const standard = [25, 465, 587, 2525].includes(n) ? n : null;
  const implicit = standard === 465;
  return {
    port: n,
    standard,
    role: roleOf(standard),
    status: 'tls',
    connect: 'open',
    via: implicit ? 'implicit' : 'starttls',
    implicitTls: implicit,
    starttlsOffered: !implicit,
    authBeforeTls: implicit ? null : [],
    authAfterTls: ['PLAIN', 'LOGIN'],
    tlsProtocol: 'TLSv1.3',
    certificate: GOOD_CERT,
    ...over,
  };
}

const blocked = (n: number, connect: PortFacts['connect'], code?: string): PortFacts => {
  const { via: _v, tlsProtocol: _t, certificate: _c, ...rest } = port(n);
  return { ...rest, status: 'blocked', connect, ...(code ? { connectErrorCode: code } : {}), authBeforeTls: null, authAfterTls: null, starttlsOffered: false };
};

const clearOnly = (n: number, over: Partial<PortFacts> = {}): PortFacts => {
  const { via: _v, tlsProtocol: _t, certificate: _c, ...rest } = port(n);
  return { ...rest, status: 'plain', starttlsOffered: false, authBeforeTls: [], authAfterTls: null, ...over };
};

const FILTERED = 'timed out: filtered, likely by your ISP or cloud provider';

interface Case {
  readonly name: string;
  readonly facts: readonly PortFacts[];
  readonly ok: boolean;
  readonly use: number | null;
  readonly summary: string;
  readonly warnings?: readonly string[];
}

const CASES: readonly Case[] = [
  {
    name: 'everything reachable except 25 (filtered): 587, then 465, 2525 as a fallback, 25 for relay only',
    facts: [blocked(25, 'timeout'), port(465), port(587), port(2525)],
    ok: true,
    use: 587,
    summary: `use 587 with STARTTLS (AUTH PLAIN LOGIN offered only after TLS); 465 with implicit TLS also works; 2525 with STARTTLS as a fallback; 25 is blocked from here (${FILTERED}) — use it only for server-to-server relay`,
    warnings: [],
  },
  {
    name: '587 filtered: use 2525 with STARTTLS',
    facts: [blocked(587, 'timeout'), port(2525)],
    ok: true,
    use: 2525,
    summary: `587 is blocked (${FILTERED}): use 2525 with STARTTLS (AUTH PLAIN LOGIN offered only after TLS)`,
  },
  {
    name: '587 refused: 465 (RFC 8314) ranks before 2525',
    facts: [port(2525), blocked(587, 'refused'), port(465)],
    ok: true,
    use: 465,
    summary: '587 is blocked (refused): use 465 with implicit TLS (AUTH PLAIN LOGIN offered); 2525 with STARTTLS as a fallback',
  },
  {
    name: '587 unreachable (no route): 465',
    facts: [blocked(587, 'unreachable', 'ENETUNREACH'), port(465)],
    ok: true,
    use: 465,
    summary: '587 is blocked (unreachable: ENETUNREACH): use 465 with implicit TLS (AUTH PLAIN LOGIN offered)',
  },
  {
    name: '587 without STARTTLS loses to 465 with TLS, and is warned about',
    facts: [clearOnly(587, { authBeforeTls: ['CRAM-MD5'] }), port(465)],
    ok: true,
    use: 465,
    summary: '587 answers, but offers no TLS: use 465 with implicit TLS (AUTH PLAIN LOGIN offered)',
    warnings: ['587 offers no STARTTLS: mail and credentials would cross the network in clear'],
  },
  {
    name: 'AUTH PLAIN before TLS on 587: still the pick, with a warning',
    facts: [port(587, { authBeforeTls: ['PLAIN', 'LOGIN', 'CRAM-MD5'], authAfterTls: ['PLAIN', 'LOGIN', 'CRAM-MD5'] })],
    ok: true,
    use: 587,
    summary: 'use 587 with STARTTLS (AUTH PLAIN LOGIN CRAM-MD5 offered)',
    warnings: ['587 offers AUTH PLAIN LOGIN before TLS: credentials could cross the network in clear'],
  },
  {
    name: 'AUTH CRAM-MD5 only before TLS is not a clear-text credential',
    facts: [port(587, { authBeforeTls: ['CRAM-MD5'], authAfterTls: ['PLAIN', 'LOGIN', 'CRAM-MD5'] })],
    ok: true,
    use: 587,
    summary: 'use 587 with STARTTLS (AUTH PLAIN LOGIN CRAM-MD5 offered)',
    warnings: [],
  },
  {
    name: 'no AUTH at all: relaying must depend on the IP address',
    facts: [port(587, { authAfterTls: [] })],
    ok: true,
    use: 587,
    summary: 'use 587 with STARTTLS (no AUTH offered: the server must recognise you by your IP address)',
  },
  {
    name: 'STARTTLS offered but refused (454) on the only port: works in clear only, warned',
    facts: [clearOnly(587, { starttlsOffered: true, error: 'STARTTLS refused: 454 4.7.0 TLS not available due to local problem' })],
    ok: true,
    use: 587,
    summary: 'use 587 without TLS only if you must: no port offers working TLS, so mail and any credentials would cross the network unencrypted',
    warnings: ['587: STARTTLS was offered but failed (STARTTLS refused: 454 4.7.0 TLS not available due to local problem)'],
  },
  {
    name: 'TLS 1.0/1.1 only, certificate for another name, untrusted, expired: every warning, merged across ports',
    facts: [
      port(587, { tlsProtocol: 'TLSv1', certificate: { checkedName: 'smtp.example.com', names: ['mail.example.net'], trusted: false, trustError: 'certificate expired (CERT_HAS_EXPIRED)', nameMatches: false, timeValid: false, validFrom: '2020-01-01T00:00:00.000Z', validTo: '2021-01-01T00:00:00.000Z' } }),
      port(465, { tlsProtocol: 'TLSv1.1', certificate: { checkedName: 'smtp.example.com', names: ['mail.example.net'], trusted: true, nameMatches: false, timeValid: true } }),
    ],
    ok: true,
    use: 587,
    summary: 'use 587 with STARTTLS (AUTH PLAIN LOGIN offered only after TLS); 465 with implicit TLS also works',
    warnings: [
      '587 negotiated TLSv1 although TLS 1.2 and 1.3 were offered: the server supports TLS 1.0/1.1 only (deprecated by RFC 8996)',
      'certificate does not match smtp.example.com on 587, 465 (it names mail.example.net)',
      'certificate on 587 is not trusted: certificate expired (CERT_HAS_EXPIRED)',
      'certificate on 587 is outside its validity dates (2020-01-01T00:00:00.000Z to 2021-01-01T00:00:00.000Z)',
      '465 negotiated TLSv1.1 although TLS 1.2 and 1.3 were offered: the server supports TLS 1.0/1.1 only (deprecated by RFC 8996)',
    ],
  },
  {
    name: 'every submission port filtered: none works, with the advice to ask the provider',
    facts: [blocked(25, 'timeout'), blocked(465, 'timeout'), blocked(587, 'timeout'), blocked(2525, 'timeout')],
    ok: false,
    use: null,
    summary: `no submission port works from here: 587 is blocked (${FILTERED}), 465 is blocked (${FILTERED}), 2525 is blocked (${FILTERED}); timed-out ports are usually filtered by the network you are on: ask its provider, or probe from elsewhere to compare; 25 is blocked from here (${FILTERED}) — use it only for server-to-server relay`,
  },
  {
    name: '587 refused and 2525 not probed: suggest trying it',
    facts: [blocked(587, 'refused')],
    ok: false,
    use: null,
    summary: 'no submission port works from here: 587 is blocked (refused); try 465, 2525 (--ports 465,2525)',
  },
  {
    name: 'implicit TLS port that speaks plain SMTP: failed, with a hint',
    facts: [{ ...blocked(465, 'open'), status: 'failed', error: 'TLS handshake failed: wrong version number' }],
    ok: false,
    use: null,
    summary: 'no submission port works from here: 465 does not work: TLS handshake failed: wrong version number; try 587, 2525 (--ports 587,2525)',
    warnings: ['465: TLS handshake failed: wrong version number — does it expect STARTTLS rather than implicit TLS?'],
  },
  {
    name: '587 refuses sessions (554 banner): use 2525',
    facts: [{ ...blocked(587, 'open'), status: 'failed', error: 'the server refuses sessions: 554 5.7.1 no service for you' }, port(2525)],
    ok: true,
    use: 2525,
    summary: '587 does not work: the server refuses sessions: 554 5.7.1 no service for you: use 2525 with STARTTLS (AUTH PLAIN LOGIN offered only after TLS)',
  },
  {
    name: 'only 25 probed, and it answers: not a submission port',
    facts: [port(25, { authAfterTls: [] })],
    ok: false,
    use: null,
    summary: 'no submission port was probed (587, 465, 2525): add them with --ports; 25 answers with STARTTLS — keep it for server-to-server relay, not for submission',
  },
  {
    name: 'a custom port works when 587 is refused; it ranks after 2525',
    facts: [blocked(587, 'refused'), port(10025)],
    ok: true,
    use: 10025,
    summary: '587 is blocked (refused): use 10025 with STARTTLS (AUTH PLAIN LOGIN offered only after TLS)',
  },
  {
    name: 'a port playing 587 is labelled with both numbers',
    facts: [port(40587, { standard: 587, role: 'submission' }), { ...blocked(40025, 'refused'), standard: 25, role: 'relay' }],
    ok: true,
    use: 40587,
    summary: 'use 40587 (as 587) with STARTTLS (AUTH PLAIN LOGIN offered only after TLS); 40025 (as 25) is blocked from here (refused) — use it only for server-to-server relay',
  },
];

describe('recommend(): the article as a table', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const r = recommend(c.facts);
      assert.equal(r.summary, c.summary);
      assert.equal(r.summary, r.parts.join('; '));
      assert.equal(r.ok, c.ok);
      assert.equal(r.use?.port ?? null, c.use);
      if (c.warnings !== undefined) assert.deepEqual(r.warnings, c.warnings);
    });
  }

  test('pure: the same facts give the same answer, whatever their order', () => {
    const facts = [blocked(25, 'timeout'), port(465), blocked(587, 'refused'), port(2525)];
    assert.deepEqual(recommend(facts), recommend([...facts].reverse()));
  });

  test('use.security says how to configure the client', () => {
    assert.deepEqual(recommend([port(587)]).use, { port: 587, standard: 587, security: 'starttls' });
    assert.deepEqual(recommend([port(465)]).use, { port: 465, standard: 465, security: 'implicit' });
    assert.deepEqual(recommend([clearOnly(2525)]).use, { port: 2525, standard: 2525, security: 'none' });
  });
});
