/**
 * Recovery rules (issue 3 §4) on hand-damaged spools: a torn tail is dropped
 * and everything acknowledged before it survives; a damaged record elsewhere
 * goes to corrupt/ with a logged error, without stopping the start; the
 * remains of a failed write before a seal are skipped; a missing body file
 * is reported, never silently dropped; leftovers of unacknowledged writes
 * are cleaned away.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Spool } from '../../src/spool/index.js';
import { encodeSealRecord } from '../../src/spool/record.js';
import { bodyFor, recordingLogger, rng, tempDir, type RecordingLogger } from './helpers.js';

describe('spool recovery', () => {
  let tmp: ReturnType<typeof tempDir>;
  let logger: RecordingLogger;
  const open = (extra: object = {}): Promise<Spool> => Spool.open({ path: tmp.dir, minFreeBytes: 0, logger: (logger = recordingLogger()), ...extra });
  const segFiles = (): string[] => readdirSync(path.join(tmp.dir, 'segments')).sort().map((f) => path.join(tmp.dir, 'segments', f));

  async function fill(spool: Spool, n: number, size = 1000, from = 0): Promise<string[]> {
    const ids: string[] = [];
    for (let i = from; i < from + n; i++) {
      const w = spool.createMessage({ mailFrom: 'a@b.example', recipients: [{ address: `u${i}@q.example` }], jobId: String(i) });
      w.write(bodyFor(i, size));
      ids.push(await w.commit());
    }
    return ids;
  }
  async function assertIntact(spool: Spool, ids: readonly string[], size = 1000): Promise<void> {
    for (const id of ids) {
      const info = await spool.getMessage(id);
      assert.ok(info, `message ${id} missing`);
      assert.ok((await spool.readBody(id)).equals(bodyFor(Number(info.envelope.jobId), size)), `message ${id} differs`);
    }
  }

  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.cleanup());

  it('drops a torn tail at any cut point and keeps every acknowledged message', async () => {
    const random = rng(7);
    let spool = await open();
    const ids = await fill(spool, 20);
    await spool.close();
    const [seg] = segFiles();
    const good = readFileSync(seg!);
    // A whole record to tear: what the next (never acknowledged) commit would have written.
    spool = await open();
    await fill(spool, 1, 1000, 999);
    await spool.close();
    const withNext = readFileSync(seg!);
    const next = withNext.subarray(good.length);
    for (let round = 0; round < 12; round++) {
      const cut = round === 0 ? 1 : round === 1 ? 15 : 1 + Math.floor(random() * (next.length - 1));
      writeFileSync(seg!, Buffer.concat([good, next.subarray(0, cut), round % 3 === 0 ? Buffer.alloc(500) : Buffer.alloc(0)]));
      spool = await open();
      assert.ok(spool.recovery.tornBytes > 0, `cut ${cut}`);
      assert.equal(spool.recovery.corruptRegions, 0);
      assert.deepEqual(spool.listMessages(), ids, `cut ${cut}`);
      assert.equal(statSync(seg!).size, good.length, 'torn bytes truncated away');
      await spool.close();
    }
    // And the spool goes on working after it.
    spool = await open();
    const more = await fill(spool, 3, 1000, 100);
    await spool.close();
    spool = await open();
    await assertIntact(spool, [...ids, ...more]);
    await spool.close();
  });

  it('moves a damaged record to corrupt/, logs it, and recovers all the others', async () => {
    let spool = await open();
    const ids = await fill(spool, 20);
    await spool.close();
    const [seg] = segFiles();
    const buf = readFileSync(seg!);
    const victim = buf.indexOf(bodyFor(5, 1000).subarray(0, 32));
    assert.ok(victim > 0);
    buf[victim + 10] ^= 0xff;
    writeFileSync(seg!, buf);
    spool = await open();
    assert.equal(spool.recovery.corruptRegions, 1);
    assert.deepEqual(spool.listMessages(), ids.filter((_, i) => i !== 5));
    await assertIntact(spool, ids.filter((_, i) => i !== 5));
    const errors = logger.lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /corrupt/);
    const quarantined = readdirSync(path.join(tmp.dir, 'corrupt'));
    assert.equal(quarantined.length, 1);
    assert.ok(readFileSync(path.join(tmp.dir, 'corrupt', quarantined[0]!)).includes(buf.subarray(victim, victim + 100)));
    // New writes land after it and survive.
    const more = await fill(spool, 2, 1000, 50);
    await spool.close();
    spool = await open();
    await assertIntact(spool, more);
    await spool.close();
  });

  it('treats damage at the end of a sealed segment as damage, not as a torn tail', async () => {
    let spool = await open({ segmentSize: 8 * 1024 });
    const ids = await fill(spool, 30);
    await spool.close();
    const files = segFiles();
    assert.ok(files.length >= 3);
    // Cut the seal and the last record of the first segment in half.
    const first = readFileSync(files[0]!);
    writeFileSync(files[0]!, first.subarray(0, first.length - 600));
    spool = await open({ segmentSize: 8 * 1024 });
    assert.equal(spool.recovery.corruptRegions, 1);
    assert.equal(spool.recovery.tornBytes, 0);
    assert.equal(spool.listMessages().length, ids.length - 1);
    assert.ok(logger.lines.some((l) => l.level === 'error'));
    await spool.close();
  });

  it('skips the remains of a failed write that a seal marks, without calling it damage', async () => {
    let spool = await open();
    const ids = await fill(spool, 5);
    await spool.close();
    const [seg] = segFiles();
    const end = statSync(seg!).size;
    const seal = encodeSealRecord(end);
    appendFileSync(seg!, Buffer.concat([Buffer.from('half a record that failed with ENOSPC'), ...seal.chunks]));
    spool = await open();
    assert.deepEqual([spool.recovery.corruptRegions, spool.recovery.tornBytes], [0, 0]);
    assert.deepEqual(spool.listMessages(), ids);
    const more = await fill(spool, 2, 1000, 10);
    await spool.close();
    spool = await open();
    await assertIntact(spool, [...ids, ...more]);
    assert.equal(segFiles().length, 2, 'writing went on in a new segment');
    await spool.close();
  });

  it('reports a queued message whose body file is gone, and keeps the rest', async () => {
    let spool = await open({ inlineBodyLimit: 1000 });
    const small = await fill(spool, 2, 500);
    const big = await fill(spool, 2, 5000, 10);
    await spool.close();
    unlinkSync(path.join(tmp.dir, 'bodies', big[0]!));
    writeFileSync(path.join(tmp.dir, 'bodies', 'ORPHAN'), 'x');
    writeFileSync(path.join(tmp.dir, 'tmp', 'half-received'), 'x');
    spool = await open();
    assert.equal(spool.recovery.missingBodies, 1);
    assert.deepEqual(spool.listMessages(), [...small, big[1]!]);
    assert.ok(logger.lines.some((l) => l.level === 'error' && /missing/.test(l.message)));
    assert.ok(existsSync(path.join(tmp.dir, 'corrupt', `${big[0]}.msg`)));
    assert.deepEqual(readdirSync(path.join(tmp.dir, 'bodies')), [big[1]!]);
    assert.deepEqual(readdirSync(path.join(tmp.dir, 'tmp')), []);
    await assertIntact(spool, [big[1]!], 5000);
    await spool.close();
  });
});
