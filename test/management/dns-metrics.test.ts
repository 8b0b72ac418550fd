/**
 * /metrics tells an operator how delivery's DNS is doing: questions by
 * outcome (answered, no such domain, resolver failing), the time spent
 * waiting, and how many lookups the TTL cache saved. Real queries to the
 * test DNS server on loopback; real deliveries to a sink.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { submit } from '../delivery/helpers.js';
import { startDeliveryRig } from '../delivery/rig.js';

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${name} is exported`);
  return Number(m[1]);
}

test('DNS questions are counted by outcome, timed, and cache hits are counted', async () => {
  const rig = await startDeliveryRig({
    domains: ['ok.example.test', 'broken.example.test'],
    config: `
http-mgmt-port {{PORT2}}
http-access 127.0.0.1 monitor`,
  });
  const { dns, out, petrel: p } = rig;
  dns.fail('broken.example.test', 'SERVFAIL');
  try {
    const first = await submit(p.port, 'a@petrel.test', ['r@ok.example.test']);
    assert.equal((await out.outcome(first.rids[0]!)).type, 'delivered');
    const second = await submit(p.port, 'a@petrel.test', ['r2@ok.example.test']);
    assert.equal((await out.outcome(second.rids[0]!)).type, 'delivered');
    const gone = await submit(p.port, 'a@petrel.test', ['r@gone.example.test']);
    assert.equal((await out.outcome(gone.rids[0]!)).type, 'bounced');
    const broken = await submit(p.port, 'a@petrel.test', ['r@broken.example.test']);
    assert.equal((await out.outcome(broken.rids[0]!)).type, 'deferred');

    const text = await (await fetch(`http://127.0.0.1:${p.ports[1]}/metrics`)).text();
    const noerror = metric(text, 'petrel_dns_queries_total{outcome="noerror"}');
    const nxdomain = metric(text, 'petrel_dns_queries_total{outcome="nxdomain"}');
    const failed = metric(text, 'petrel_dns_queries_total{outcome="failed"}');
    assert.ok(noerror >= 2, `MX and A of ok.example.test answered (${noerror})`);
    assert.ok(nxdomain >= 1, `gone.example.test does not exist (${nxdomain})`);
    assert.ok(failed >= 1, `broken.example.test's resolver failure counted (${failed})`);
    assert.ok(noerror + nxdomain + failed <= dns.queries.length, 'never more questions counted than the DNS server received');
    assert.ok(metric(text, 'petrel_dns_query_seconds_total') > 0, 'time spent waiting is measured');
    assert.ok(metric(text, 'petrel_dns_cache_hits_total') >= 1, 'the second message to ok.example.test was routed from the cache');
  } finally {
    await rig.stop();
  }
});
