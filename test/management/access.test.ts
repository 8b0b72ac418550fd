/**
 * Access control over real sockets: the client's source address picks the
 * `http-access` level (127.0.0.1 admin, 127.0.0.2 monitor, 127.0.0.3 none,
 * anything else none), a bearer token grants admin, headers cannot forge an
 * address, and the browser defences (Host, Origin) hold. Plus the pure
 * helpers: most specific rule wins, bind address, config defaults.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, request, sendMail, cidr, type Setup } from './helpers.js';
import { accessFromConfig, bindHostFor, hostAllowed, levelFor, sameOrigin } from '../../src/management/access.js';
import { loadConfigText } from '../../src/config/loader.js';

const TOKEN = 'tok-' + 'a1b2c3d4e5f6';
let s: Setup;
let queue: string;

before(async () => {
  s = await setup({ token: TOKEN, access: [
    { cidr: cidr('127.0.0.1'), level: 'admin' },
    { cidr: cidr('127.0.0.2'), level: 'monitor' },
    { cidr: cidr('127.0.0.3'), level: 'none' },
    { cidr: cidr('127.0.0.0', 8), level: 'none' },
  ] });
  await sendMail(s.petrel.port, ['user@access.example']);
  queue = '/api/v1/queues/access.example/%7Bdefault%7D';
});
after(async () => {
  await s?.stop();
});

test('monitor address: reads allowed, changes refused with 403', async () => {
  const from = '127.0.0.2';
  for (const p of ['/api/v1/status', '/api/v1/queues', queue, '/metrics', '/']) {
    assert.equal((await request(s.mgmt.port, 'GET', p, { from })).status, 200, p);
  }
  const r = await request(s.mgmt.port, 'POST', queue + '/pause', { from });
  assert.equal(r.status, 403);
  assert.equal(r.json().error.code, 'FORBIDDEN');
  assert.match(r.json().error.message, /admin access needed/);
  assert.equal((await request(s.mgmt.port, 'DELETE', queue, { from })).status, 403);
  assert.equal((await request(s.mgmt.port, 'POST', '/api/v1/reload', { from })).status, 403);
  assert.equal(s.petrel.mta.spool.queueStats('access.example/{default}')[0]!.paused, false, 'nothing changed');
});

test('none level and unlisted addresses: 403 for everything, even the page and metrics', async () => {
  for (const from of ['127.0.0.3', '127.0.0.9']) {
    for (const p of ['/api/v1/status', '/', '/metrics', '/api/v1/stream', '/no/such/path']) {
      const r = await request(s.mgmt.port, 'GET', p, { from });
      assert.equal(r.status, 403, `${from} ${p}`);
      assert.equal(r.json().error.code, 'FORBIDDEN');
      assert.doesNotMatch(r.text, /access\.example/);
    }
  }
});

test('admin address: changes allowed', async () => {
  const r = await request(s.mgmt.port, 'POST', queue + '/pause', { from: '127.0.0.1' });
  assert.equal(r.status, 200, r.text);
  assert.equal(s.petrel.mta.spool.queueStats('access.example/{default}')[0]!.paused, true);
  assert.equal((await request(s.mgmt.port, 'POST', queue + '/resume', { from: '127.0.0.1' })).status, 200);
  assert.equal(s.petrel.mta.spool.queueStats('access.example/{default}')[0]!.paused, false);
});

test('bearer token grants admin from a monitor or a none address; a wrong token is 401', async () => {
  const good = { authorization: `Bearer ${TOKEN}` };
  let r = await request(s.mgmt.port, 'POST', queue + '/pause', { from: '127.0.0.2', headers: good });
  assert.equal(r.status, 200, r.text);
  r = await request(s.mgmt.port, 'POST', queue + '/resume', { from: '127.0.0.3', headers: good });
  assert.equal(r.status, 200, r.text);
  for (const bad of [`Bearer ${TOKEN}x`, 'Bearer nope', `Bearer ${TOKEN.slice(0, -1)}`]) {
    r = await request(s.mgmt.port, 'GET', '/api/v1/status', { from: '127.0.0.1', headers: { authorization: bad } });
    assert.equal(r.status, 401, bad);
    assert.equal(r.json().error.code, 'UNAUTHORIZED');
  }
  // Basic credentials are not a token: the address decides.
  r = await request(s.mgmt.port, 'POST', queue + '/pause', { from: '127.0.0.2', headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } });
  assert.equal(r.status, 403);
});

test('X-Forwarded-For and friends cannot raise the level', async () => {
  const r = await request(s.mgmt.port, 'POST', queue + '/pause', {
    from: '127.0.0.2',
    headers: { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1', forwarded: 'for=127.0.0.1' },
  });
  assert.equal(r.status, 403);
});

test('browser defences: foreign Host (DNS rebinding) and cross-origin POST are refused', async () => {
  let r = await request(s.mgmt.port, 'GET', '/api/v1/status', { from: '127.0.0.1', headers: { host: 'evil.example:8080' } });
  assert.equal(r.status, 403);
  r = await request(s.mgmt.port, 'GET', '/api/v1/status', { from: '127.0.0.1', headers: { host: `localhost:${s.mgmt.port}` } });
  assert.equal(r.status, 200);
  r = await request(s.mgmt.port, 'POST', queue + '/pause', { from: '127.0.0.1', headers: { origin: 'http://evil.example' } });
  assert.equal(r.status, 403);
  assert.match(r.json().error.message, /cross-origin/);
  r = await request(s.mgmt.port, 'POST', queue + '/pause', { from: '127.0.0.1', headers: { origin: `http://127.0.0.1:${s.mgmt.port}` } });
  assert.equal(r.status, 200);
  await request(s.mgmt.port, 'POST', queue + '/resume', { from: '127.0.0.1' });
});

test('levelFor: most specific rule wins; no rule is none; mapped IPv4 matches', () => {
  const rules = [
    { cidr: cidr('0.0.0.0', 0), level: 'monitor' as const },
    { cidr: cidr('10.0.0.0', 8), level: 'none' as const },
    { cidr: cidr('10.1.2.3'), level: 'admin' as const },
  ];
  assert.equal(levelFor(rules, '192.0.2.1'), 'monitor');
  assert.equal(levelFor(rules, '10.9.9.9'), 'none');
  assert.equal(levelFor(rules, '10.1.2.3'), 'admin');
  assert.equal(levelFor(rules, '::ffff:10.1.2.3'), 'admin');
  assert.equal(levelFor(rules, '2001:db8::1'), 'none');
  assert.equal(levelFor(rules, undefined), 'none');
  assert.equal(levelFor([], '127.0.0.1'), 'none');
});

test('accessFromConfig and bindHostFor: loopback admin by default; a network grant opens the bind address', () => {
  const none = loadConfigText('smtp-listener 127.0.0.1:25\n', '/tmp/x.conf').config!;
  const def = accessFromConfig(none);
  assert.equal(levelFor(def, '127.0.0.1'), 'admin');
  assert.equal(levelFor(def, '::1'), 'admin');
  assert.equal(levelFor(def, '192.0.2.1'), 'none');
  assert.equal(bindHostFor(def), '127.0.0.1');
  const open = loadConfigText('http-access 127.0.0.1 admin\nhttp-access 10.0.0.0/8 monitor\nhttp-access 0/0 none\n', '/tmp/y.conf').config!;
  const rules = accessFromConfig(open);
  assert.equal(levelFor(rules, '10.2.3.4'), 'monitor');
  assert.equal(levelFor(rules, '192.0.2.1'), 'none');
  assert.equal(bindHostFor(rules), '0.0.0.0');
  assert.equal(bindHostFor([{ cidr: cidr('2001:db8::', 32), level: 'admin' }]), '::');
});

test('hostAllowed and sameOrigin', () => {
  assert.equal(hostAllowed('127.0.0.1:8080'), true);
  assert.equal(hostAllowed('[::1]:8080'), true);
  assert.equal(hostAllowed('localhost'), true);
  assert.equal(hostAllowed('attacker.example'), false);
  assert.equal(hostAllowed('mta.example.com:8080', ['mta.example.com']), true);
  assert.equal(hostAllowed(undefined), false);
  assert.equal(sameOrigin(undefined, '127.0.0.1:1'), true);
  assert.equal(sameOrigin('http://127.0.0.1:1', '127.0.0.1:1'), true);
  assert.equal(sameOrigin('http://127.0.0.1:2', '127.0.0.1:1'), false);
  assert.equal(sameOrigin('null', '127.0.0.1:1'), false);
});
