import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommand, formatCommand, isSyntaxError, isValidHeloName } from './command.js';
import type { SmtpCommand } from './command.js';
import { formatReply } from './reply.js';

/** The wire reply a server would send for a line, or the parsed command. */
function replyFor(line: string | Buffer): string {
  const r = parseCommand(line);
  assert.ok(isSyntaxError(r), `expected a syntax error for ${JSON.stringify(line.toString())}, got ${JSON.stringify(r)}`);
  return formatReply(r.reply).trimEnd();
}

function ok(line: string): SmtpCommand {
  const r = parseCommand(line);
  assert.ok(!isSyntaxError(r), `expected a command for ${JSON.stringify(line)}, got ${JSON.stringify(r)}`);
  return r;
}

test('verbs are case-insensitive and parse to their variant', () => {
  const cases: Array<[string, Partial<SmtpCommand> & { kind: SmtpCommand['kind'] }]> = [
    ['EHLO client.example', { kind: 'EHLO', domain: 'client.example' }],
    ['ehlo [192.0.2.1]', { kind: 'EHLO', domain: '[192.0.2.1]' }],
    ['HeLo client', { kind: 'HELO', domain: 'client' }],
    ['DATA', { kind: 'DATA' }],
    ['data', { kind: 'DATA' }],
    ['RSET', { kind: 'RSET' }],
    ['NOOP', { kind: 'NOOP' }],
    ['NOOP anything at all', { kind: 'NOOP', arg: 'anything at all' }],
    ['QUIT', { kind: 'QUIT' }],
    ['QUIT  \t', { kind: 'QUIT' }],
    ['HELP', { kind: 'HELP' }],
    ['HELP MAIL', { kind: 'HELP', arg: 'MAIL' }],
    ['VRFY postmaster', { kind: 'VRFY', arg: 'postmaster' }],
    ['EXPN staff', { kind: 'EXPN', arg: 'staff' }],
    ['STARTTLS', { kind: 'STARTTLS' }],
    ['BDAT 1000', { kind: 'BDAT', size: 1000, last: false }],
    ['bdat 0 last', { kind: 'BDAT', size: 0, last: true }],
    ['BDAT 42 LAST', { kind: 'BDAT', size: 42, last: true }],
    ['AUTH plain', { kind: 'AUTH', mechanism: 'PLAIN' }],
    ['AUTH PLAIN AHVzZXIAcGFzcw==', { kind: 'AUTH', mechanism: 'PLAIN', initialResponse: 'AHVzZXIAcGFzcw==' }],
    ['AUTH PLAIN =', { kind: 'AUTH', mechanism: 'PLAIN', initialResponse: '=' }],
    ['AUTH CRAM-MD5', { kind: 'AUTH', mechanism: 'CRAM-MD5' }],
    ['XCLIENT ADDR=1.2.3.4', { kind: 'UNKNOWN', verb: 'XCLIENT' }],
    ['GET / HTTP/1.1', { kind: 'UNKNOWN', verb: 'GET' }],
    [`${'A'.repeat(100)}`, { kind: 'UNKNOWN', verb: 'A'.repeat(32) }],
  ];
  for (const [line, expected] of cases) {
    const got = ok(line);
    for (const [k, v] of Object.entries(expected)) {
      assert.deepEqual((got as unknown as Record<string, unknown>)[k], v, `${line}: ${k}`);
    }
  }
});

test('MAIL FROM: paths, tolerated space, null sender, params', () => {
  const cases: Array<[string, string | null, Record<string, unknown>]> = [
    ['MAIL FROM:<user@example.com>', 'user@example.com', {}],
    ['mail from:<User@Example.COM>', 'User@example.com', {}],
    ['MAIL FROM: <user@example.com>', 'user@example.com', {}],
    ['MAIL FROM:   <user@example.com>', 'user@example.com', {}],
    ['MAIL FROM:<>', null, {}],
    ['MAIL FROM:<> SIZE=100 BODY=8bitmime', null, { size: 100, body: '8BITMIME' }],
    ['MAIL FROM:<a@b.example>  RET=HDRS  ENVID=abc+2Bdef', 'a@b.example', { ret: 'HDRS', envid: 'abc+def' }],
    ['MAIL FROM:<"a b>c"@example.com> SIZE=5', '"a b>c"@example.com', { size: 5 }],
    ['MAIL FROM:<@relay.example:user@example.com>', 'user@example.com', {}],
    ['MAIL FROM:<δοκιμή@παράδειγμα.δοκιμή> SMTPUTF8', 'δοκιμή@παράδειγμα.δοκιμή', { smtputf8: true }],
  ];
  for (const [line, text, params] of cases) {
    const cmd = ok(line);
    assert.equal(cmd.kind, 'MAIL', line);
    if (cmd.kind !== 'MAIL') continue;
    assert.equal(cmd.path.kind === 'mailbox' ? cmd.path.mailbox.text : null, text, line);
    assert.deepEqual({ ...cmd.params }, params, line);
  }
});

test('RCPT TO: paths, postmaster, params', () => {
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['RCPT TO:<user@example.com>', 'user@example.com', {}],
    ['RCPT TO:<postmaster>', 'postmaster', {}],
    ['rcpt to:<PostMaster>', 'postmaster', {}],
    ['RCPT TO:<postmaster@example.com>', 'postmaster@example.com', {}],
    ['RCPT TO: <user%evil.example@good.example>', 'user%evil.example@good.example', {}],
    ['RCPT TO:<u@example.com> NOTIFY=SUCCESS,FAILURE', 'u@example.com', { notify: ['SUCCESS', 'FAILURE'] }],
    ['RCPT TO:<u@example.com> NOTIFY=never ORCPT=rfc822;u+40example.com', 'u@example.com', {
      notify: 'NEVER',
      orcpt: { addrType: 'rfc822', address: 'u@example.com' },
    }],
    ['RCPT TO:<ü@example.com>', 'ü@example.com', {}],
  ];
  for (const [line, text, params] of cases) {
    const cmd = ok(line);
    assert.equal(cmd.kind, 'RCPT', line);
    if (cmd.kind !== 'RCPT') continue;
    assert.equal(cmd.path.kind === 'mailbox' ? cmd.path.mailbox.text : 'postmaster', text, line);
    assert.deepEqual({ ...cmd.params }, params, line);
  }
});

test('syntax errors carry the reply a server sends', () => {
  const cases: Array<[string | Buffer, string]> = [
    ['', '500 5.5.2 Syntax error: empty command'],
    ['   ', '500 5.5.2 Syntax error: empty command'],
    ['NOOP\0x', '500 5.5.2 Syntax error: invalid character'],
    ['NOOP a\rb', '500 5.5.2 Syntax error: invalid character'],
    [Buffer.from([0x45, 0x48, 0x4c, 0x4f, 0x20, 0xff, 0xfe]), '500 5.5.2 Syntax error: invalid UTF-8'],
    ['EHLO', '501 5.5.4 Syntax: EHLO hostname'],
    ['HELO a b', '501 5.5.4 Syntax: HELO hostname'],
    ['MAIL', '501 5.5.4 Syntax: MAIL FROM:<address>'],
    ['MAIL FROM:user@example.com', '501 5.5.4 Syntax: MAIL FROM:<address>'],
    ['MAIL TO:<user@example.com>', '501 5.5.4 Syntax: MAIL FROM:<address>'],
    ['MAIL FROM:<user@example.com>SIZE=1', '501 5.5.4 Syntax: MAIL FROM:<address>'],
    ['MAIL FROM:<user@example.com', '501 5.1.7 Bad sender address syntax'],
    ['MAIL FROM:<user@@example.com>', '501 5.1.7 Bad sender address syntax'],
    ['MAIL FROM:<a@b@example.com>', '501 5.1.7 Bad sender address syntax'],
    ['MAIL FROM:<postmaster>', '501 5.1.7 Bad sender address syntax'],
    ['MAIL FROM:<ü@example.com>', '553 5.6.7 Non-ASCII address requires SMTPUTF8'],
    ['MAIL FROM:<a@example.com> FOO=bar', '555 5.5.4 Unsupported parameter FOO'],
    ['MAIL FROM:<a@example.com> NOTIFY=NEVER', '555 5.5.4 Unsupported parameter NOTIFY'],
    ['MAIL FROM:<a@example.com> SIZE=abc', '501 5.5.4 Invalid SIZE'],
    ['MAIL FROM:<a@example.com> SIZE=1 size=2', '501 5.5.4 Duplicate parameter SIZE'],
    ['RCPT', '501 5.5.4 Syntax: RCPT TO:<address>'],
    ['RCPT TO:<>', '501 5.1.3 Bad recipient address syntax'],
    ['RCPT TO:<"unterminated@example.com>', '501 5.1.3 Bad recipient address syntax'],
    ['RCPT TO:<u@example.com> NOTIFY=NEVER,SUCCESS', '501 5.5.4 Invalid NOTIFY'],
    ['RCPT TO:<u@example.com> SIZE=10', '555 5.5.4 Unsupported parameter SIZE'],
    ['DATA now', '501 5.5.4 Syntax: DATA'],
    ['RSET x', '501 5.5.4 Syntax: RSET'],
    ['QUIT now', '501 5.5.4 Syntax: QUIT'],
    ['STARTTLS x', '501 5.5.4 Syntax: STARTTLS'],
    ['VRFY', '501 5.5.4 Syntax: VRFY address'],
    ['EXPN', '501 5.5.4 Syntax: EXPN address'],
    ['AUTH', '501 5.5.4 Syntax: AUTH mechanism [initial-response]'],
    ['AUTH THIS-MECHANISM-NAME-IS-TOO-LONG', '501 5.5.4 Syntax: AUTH mechanism [initial-response]'],
    ['BDAT', '501 5.5.4 Syntax: BDAT chunk-size [LAST]'],
    ['BDAT -1', '501 5.5.4 Syntax: BDAT chunk-size [LAST]'],
    ['BDAT 10 FIRST', '501 5.5.4 Syntax: BDAT chunk-size [LAST]'],
    ['BDAT 99999999999999999999', '501 5.5.4 BDAT chunk size too large'],
  ];
  for (const [line, expected] of cases) assert.equal(replyFor(line), expected, JSON.stringify(line.toString()));
});

test('a BDAT whose size cannot be read is fatal: the session cannot stay in step', () => {
  for (const line of ['BDAT', 'BDAT x LAST', 'BDAT 99999999999999999999']) {
    const r = parseCommand(line);
    assert.ok(isSyntaxError(r) && r.fatal, line);
  }
  const r = parseCommand('MAIL FROM:bad');
  assert.ok(isSyntaxError(r) && !r.fatal);
});

test('Buffer input is decoded as UTF-8', () => {
  const cmd = parseCommand(Buffer.from('RCPT TO:<josé@exämple.com>', 'utf8'));
  assert.ok(!isSyntaxError(cmd) && cmd.kind === 'RCPT' && cmd.path.kind === 'mailbox');
  assert.equal(cmd.path.mailbox.domain, 'exämple.com');
  assert.equal(cmd.path.mailbox.asciiDomain, 'xn--exmple-cua.com');
  assert.equal(cmd.path.mailbox.isUtf8, true);
});

test('formatCommand writes wire lines the parser reads back', () => {
  const lines = [
    'EHLO client.example',
    'MAIL FROM:<>',
    'MAIL FROM:<a@example.com> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=FULL ENVID=x+2By',
    'RCPT TO:<Postmaster>',
    'RCPT TO:<"q u"@example.com> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bb@example.com',
    'BDAT 10 LAST',
    'BDAT 10',
    'AUTH PLAIN AGEAYg==',
    'NOOP',
    'QUIT',
  ];
  for (const line of lines) {
    const cmd = ok(line);
    assert.equal(formatCommand(cmd), `${line}\r\n`);
  }
});

test('formatCommand can write A-labels for a server without SMTPUTF8', () => {
  const cmd = ok('RCPT TO:<user@bücher.example>');
  assert.equal(formatCommand(cmd, { asciiDomain: true }), 'RCPT TO:<user@xn--bcher-kva.example>\r\n');
});

test('isValidHeloName follows RFC 5321 Domain / address-literal', () => {
  const cases: Array<[string, boolean]> = [
    ['mail.example.com', true],
    ['localhost', true],
    ['[192.0.2.1]', true],
    ['[IPv6:2001:db8::1]', true],
    ['192.0.2.1', false],
    ['[300.1.1.1]', false],
    ['under_score.example', false],
    ['-bad.example', false],
    ['trailing.example.', false],
    ['', false],
  ];
  for (const [name, valid] of cases) assert.equal(isValidHeloName(name), valid, name);
});
