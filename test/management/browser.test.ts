/**
 * The web monitor in a real browser: Debian's chromium driven by
 * playwright-core (never `npx playwright install`). A real Petrel receives
 * mail over SMTP (nothing leaves: no delivery runs), the page shows the
 * queue, updates live over SSE when another message arrives (no reload), a
 * hostile domain stays text, and the Pause button pauses the queue in the
 * spool.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { setup, sendMail, spoolMessage, type Setup } from './helpers.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
let s: Setup;
let ctx: BrowserContext;
let profile: string;

before(async () => {
  if (!CHROMIUM) return;
  s = await setup();
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  await ctx?.close();
  await s?.stop();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

test('monitor in chromium: queue shown, live update on new mail, hostile name inert, Pause pauses', { skip: CHROMIUM ? false : 'chromium is not installed' }, async () => {
  await sendMail(s.petrel.port, ['alice@first.example']);
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });

  await page.goto(`${s.base}/`);
  const row = (q: string) => page.locator(`#queues tr[data-key="${q}"]`);
  await row('first.example/{default}').waitFor();
  await page.locator('#live', { hasText: 'live' }).waitFor();
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));

  // Another message arrives: the page updates itself over SSE.
  await sendMail(s.petrel.port, ['bob@second.example', 'carol@second.example']);
  await row('second.example/{default}').waitFor();
  assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'updated live, not reloaded');
  assert.match(await row('second.example/{default}').innerText(), /second\.example\/\{default\}\s+2\s+1/);

  // A hostile domain is shown as text and runs nothing.
  const hostile = '<img src=x onerror=alert(1)>.example';
  await spoolMessage(s.petrel.mta.spool, [`x@${hostile}`]);
  await row(`${hostile}/{default}`).waitFor();
  assert.equal(await row(`${hostile}/{default}`).locator('td').first().innerText(), `${hostile}/{default}`);
  assert.equal(await page.locator('#queues img').count(), 0);

  // Pause from the page (admin address): the spool says paused, and the row offers Resume.
  await row('first.example/{default}').locator('button[data-action="pause"]').click();
  await row('first.example/{default}').locator('button[data-action="resume"]').waitFor();
  assert.equal(s.petrel.mta.spool.queueStats('first.example/{default}')[0]!.paused, true);
  await page.locator('#flash.ok').waitFor();
  assert.match(await page.locator('#flash').innerText(), /pause first\.example\/\{default\}: done/);

  // And Resume undoes it.
  await row('first.example/{default}').locator('button[data-action="resume"]').click();
  await row('first.example/{default}').locator('button[data-action="pause"]').waitFor();
  assert.equal(s.petrel.mta.spool.queueStats('first.example/{default}')[0]!.paused, false);

  assert.deepEqual(problems, []);
});
