/**
 * `petrel inject FILE --from --to`: a message file submitted over SMTP to a
 * running Petrel lands in its spool; a refused recipient is reported with
 * its reply and a non-zero exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, startPetrel } from '../harness/petrel.js';

function petrel(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

test('petrel inject submits a file (or stdin) over SMTP; the spool has it; a refusal exits 1 with the reply', async () => {
  const p = await startPetrel(`
smtp-listener 127.0.0.1:{{PORT}}
relay-domain inbound.example.test
<source 127.0.0.1>
    always-allow-relaying no
</source>
`);
  try {
    const file = path.join(p.dir, 'msg.eml');
    fs.writeFileSync(file, 'Subject: injected\n\nline one\n.leading dot\n');
    const ok = await petrel(['inject', file, '--from', 'app@example.test', '--to', 'a@inbound.example.test,b@inbound.example.test', '--server', `127.0.0.1:${p.port}`]);
    assert.equal(ok.code, 0, ok.stderr);
    const id = /queued as (\S+)/.exec(ok.stdout)![1]!;
    const body = (await p.mta.spool.readBody(id)).toString();
    assert.match(body, /\r\nSubject: injected\r\n/);
    assert.match(body, /\r\n\r\nline one\r\n\.leading dot\r\n$/, 'LF became CRLF; the dot line survived (stuffed on the wire, unstuffed in the spool)');
    assert.equal((await p.mta.spool.getMessage(id))!.recipients.length, 2);

    const viaStdin = await petrel(['inject', '-', '--from', '', '--to', 'c@inbound.example.test', '--server', `127.0.0.1:${p.port}`, '--json'], 'Subject: stdin\n\nx\n');
    assert.equal(viaStdin.code, 0, viaStdin.stderr);
    assert.equal((JSON.parse(viaStdin.stdout) as { accepted: number }).accepted, 1);

    const refused = await petrel(['inject', file, '--from', 'app@example.test', '--to', 'victim@elsewhere.example', '--server', `127.0.0.1:${p.port}`]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused victim@elsewhere\.example: 550 5\.7\.1 /);

    const down = await petrel(['inject', file, '--from', 'a@x.test', '--to', 'b@x.test', '--server', '127.0.0.1:9']);
    assert.equal(down.code, 69);
  } finally {
    await p.stop();
  }
});
