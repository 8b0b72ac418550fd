/**
 * The `petrel` command as an operator runs it: the built bin/petrel.js in a
 * child process, its exit code, stdout and stderr.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'petrel.js');

function petrel(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function withConfig(text: string, fn: (file: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-cli-'));
  try {
    const file = path.join(dir, 'config');
    fs.writeFileSync(file, text);
    fn(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const GOOD = [
  'smtp-listener 127.0.0.1:2525',
  'smtp-listener [::1]:587',
  '<virtual-mta mta1>',
  '  smtp-source-host 127.0.0.2 mta1.example.test',
  '  <domain *>',
  '    retry-after 10m',
  '  </domain>',
  '</virtual-mta>',
  '<domain gmail.com>',
  '  max-smtp-out 10',
  '</domain>',
  '<source 10.0.5.20>',
  '  always-allow-relaying yes',
  '</source>',
  '<source 0/0>',
  '  always-allow-relaying no',
  '</source>',
  '',
].join('\n');

test('petrel --version prints the package version', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  const r = petrel('--version');
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('petrel help lists the commands', () => {
  const r = petrel('help');
  assert.equal(r.code, 0);
  for (const c of ['start', 'check-config', 'show']) assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
});

test('check-config: a good file exits 0 with a summary', () => {
  withConfig(GOOD, (file) => {
    const r = petrel('check-config', '--config', file);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configuration OK/);
    assert.match(r.stdout, /listeners: +127\.0\.0\.1:2525, \[::1\]:587/);
    assert.match(r.stdout, /vmtas: +mta1/);
    assert.match(r.stdout, /domains: +gmail\.com, \*/);
  });
});

test('check-config: every error, file:line:column, the line and a caret; exit 1', () => {
  withConfig(['max-smtp-ot 20', '<domain *>', '    bounce-after 4x', '</domain>', '</domain>', ''].join('\n'), (file) => {
    const r = petrel('check-config', '--config', file);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /config:1:1: error: unknown directive 'max-smtp-ot'/);
    assert.match(r.stderr, /hint: did you mean 'max-smtp-out'\?/);
    assert.match(r.stderr, /config:3:19: error: invalid value for 'bounce-after': unknown time unit 'x'/);
    assert.match(r.stderr, /\n {4} {4}bounce-after 4x\n {4} {18}\^\n/);
    assert.match(r.stderr, /config:5:1: error: unexpected <\/domain>: no <domain> is open/);
    assert.match(r.stderr, /3 errors; configuration refused/);
    assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
  });
});

test('check-config --json reports errors with positions', () => {
  withConfig('<domain *>\n  max-smtp-out twenty\n</domain>\n', (file) => {
    const r = petrel('check-config', '--config', file, '--json');
    assert.equal(r.code, 1);
    const j = JSON.parse(r.stdout) as { ok: boolean; errors: Array<{ line: number; column: number; message: string }> };
    assert.equal(j.ok, false);
    assert.equal(j.errors.length, 1);
    assert.equal(j.errors[0]!.line, 2);
    assert.equal(j.errors[0]!.column, 16);
  });
});

test('check-config: a missing file is a clear error, not a crash', () => {
  const r = petrel('check-config', '--config', '/nonexistent/petrel/config');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot read configuration file: no such file/);
});

test('show settings: effective values for a queue and where each came from', () => {
  withConfig(GOOD, (file) => {
    const r = petrel('show', 'settings', '--config', file, '--domain', 'gmail.com', '--vmta', 'mta1');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /# queue gmail\.com\/mta1/);
    assert.match(r.stdout, /\nmax-smtp-out +10 +\(.*config:10\)/);
    assert.match(r.stdout, /\nretry-after +10m +\(.*config:6\)/);
    assert.match(r.stdout, /\nbounce-after +4d12h +\(default\)/);
    const j = JSON.parse(petrel('show', 'settings', '--config', file, '--domain', 'gmail.com', '--json').stdout) as {
      sections: Array<{ title: string; settings: Array<{ directive: string; value: unknown; from: unknown }> }>;
    };
    const q = j.sections[0]!.settings.find((s) => s.directive === 'max-smtp-out')!;
    assert.equal(q.value, 10);
    assert.deepEqual(q.from, { file, line: 10 });
  });
});

test('show settings: a source by longest prefix, falling back to 0/0', () => {
  withConfig(GOOD, (file) => {
    const r = petrel('show', 'settings', '--config', file, '--source', '10.0.5.20', '--json');
    const j = JSON.parse(r.stdout) as { sections: Array<{ settings: Array<{ directive: string; value: unknown; from: { line: number } | string }> }> };
    const relay = j.sections[0]!.settings.find((s) => s.directive === 'always-allow-relaying')!;
    assert.equal(relay.value, true);
    assert.deepEqual(relay.from, { file, line: 13 });
    const other = JSON.parse(petrel('show', 'settings', '--config', file, '--source', '192.0.2.1', '--json').stdout) as typeof j;
    assert.equal(other.sections[0]!.settings.find((s) => s.directive === 'always-allow-relaying')!.value, false);
  });
});

test('show settings: an unknown VMTA is an error naming the known ones', () => {
  withConfig(GOOD, (file) => {
    const r = petrel('show', 'settings', '--config', file, '--domain', 'gmail.com', '--vmta', 'nope');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no <virtual-mta nope>.*known: mta1/);
  });
});

test('start: runs in the foreground on a valid config and stops on SIGTERM', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-start-'));
  try {
    const file = path.join(dir, 'config');
    fs.writeFileSync(file, GOOD);
    const child = spawn(process.execPath, [bin, 'start', '--config', file], { cwd: dir });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no 'running' line: ${out}`)), 20_000);
      child.stdout.on('data', () => {
        if (/running/.test(out)) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0);
    assert.match(out, /SIGTERM received, stopping/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('start: refuses to start on a config with errors', () => {
  withConfig('max-smtp-ot 20\n', (file) => {
    const r = petrel('start', '--config', file);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not starting/);
  });
});

test('the embedded default config loads without errors', () => {
  const r = petrel('check-config', '--config', path.join(root, 'config', 'default.conf'));
  assert.equal(r.code, 0, r.stderr);
});
