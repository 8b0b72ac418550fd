import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REPLY_CONTEXTS, reply } from './enhanced-codes.js';
import type { ReplyContext } from './enhanced-codes.js';
import { formatReply, isValidReplyCode } from './reply.js';

test('every context produces the reply a peer expects on the wire', () => {
  const cases: Array<[ReplyContext, string]> = [
    ['GREETING', '220 ESMTP ready'],
    ['NO_SERVICE', '554 5.3.2 No SMTP service here'],
    ['EHLO_OK', '250 Hello'],
    ['HELO_OK', '250 Hello'],
    ['MAIL_OK', '250 2.1.0 Sender OK'],
    ['RCPT_OK', '250 2.1.5 Recipient OK'],
    ['DATA_START', '354 End data with <CR><LF>.<CR><LF>'],
    ['MESSAGE_ACCEPTED', '250 2.0.0 Message accepted'],
    ['BDAT_OK', '250 2.0.0 Chunk accepted'],
    ['NO_VALID_RECIPIENTS', '554 5.5.1 No valid recipients'],
    ['BAD_SEQUENCE', '503 5.5.1 Bad sequence of commands'],
    ['SYNTAX', '501 5.5.4 Syntax error in parameters'],
    ['SYNTAX_COMMAND', '500 5.5.2 Syntax error'],
    ['SYNTAX_SENDER', '501 5.1.7 Bad sender address syntax'],
    ['SYNTAX_RECIPIENT', '501 5.1.3 Bad recipient address syntax'],
    ['UNKNOWN_COMMAND', '500 5.5.1 Command unrecognized'],
    ['NOT_IMPLEMENTED', '502 5.5.1 Command not implemented'],
    ['PARAM_NOT_IMPLEMENTED', '504 5.5.4 Command parameter not implemented'],
    ['UNSUPPORTED_PARAM', '555 5.5.4 Unsupported parameter'],
    ['RELAY_DENIED', '550 5.7.1 Relaying denied'],
    ['POLICY_REJECT', '550 5.7.1 Rejected by policy'],
    ['POLICY_DEFER', '450 4.7.1 Try again later'],
    ['MAILBOX_UNKNOWN', '550 5.1.1 Mailbox unknown'],
    ['AUTH_REQUIRED', '530 5.7.0 Authentication required'],
    ['AUTH_CHALLENGE', '334 '],
    ['AUTH_OK', '235 2.7.0 Authentication successful'],
    ['AUTH_FAILED', '535 5.7.8 Authentication credentials invalid'],
    ['AUTH_CANCELLED', '501 5.7.0 Authentication cancelled'],
    ['AUTH_MECHANISM_UNSUPPORTED', '504 5.5.4 Unrecognized authentication type'],
    ['AUTH_LINE_TOO_LONG', '500 5.5.6 Authentication exchange line is too long'],
    ['AUTH_TEMP_FAILURE', '454 4.7.0 Temporary authentication failure'],
    ['ENCRYPTION_REQUIRED', '538 5.7.11 Encryption required for requested authentication mechanism'],
    ['TLS_REQUIRED', '530 5.7.0 Must issue a STARTTLS command first'],
    ['STARTTLS_READY', '220 2.0.0 Ready to start TLS'],
    ['TLS_UNAVAILABLE', '454 4.7.0 TLS not available due to temporary reason'],
    ['TOO_MANY_RCPTS', '452 4.5.3 Too many recipients'],
    ['MESSAGE_TOO_BIG', '552 5.3.4 Message size exceeds fixed maximum message size'],
    ['STORAGE_FULL', '452 4.3.1 Insufficient system storage'],
    ['LOCAL_ERROR', '451 4.3.0 Local error in processing'],
    ['SHUTTING_DOWN', '421 4.3.2 Service shutting down, closing transmission channel'],
    ['TOO_MANY_CONNECTIONS', '421 4.7.0 Too many connections'],
    ['TOO_MANY_ERRORS', '421 4.7.0 Too many errors'],
    ['TIMEOUT', '421 4.4.2 Timeout, closing transmission channel'],
    ['PROTOCOL_SYNC', '554 5.5.0 SMTP protocol synchronization error'],
    ['BARE_LF', '550 5.5.2 Error: bare <LF> received'],
    ['BARE_CR', '550 5.5.2 Error: bare <CR> received'],
    ['LINE_TOO_LONG', '500 5.5.2 Line too long'],
    ['TEXT_LINE_TOO_LONG', '554 5.6.0 Message has a line longer than 998 octets'],
    ['UTF8_REQUIRED', '553 5.6.7 Non-ASCII address requires SMTPUTF8'],
    ['VRFY', '252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery'],
    ['NOOP_OK', '250 2.0.0 OK'],
    ['RSET_OK', '250 2.0.0 OK'],
    ['QUIT', '221 2.0.0 Bye'],
    ['HELP', '214 2.0.0 See https://www.rfc-editor.org/rfc/rfc5321'],
  ];
  assert.equal(cases.length, Object.keys(REPLY_CONTEXTS).length, 'every context is pinned here');
  for (const [ctx, wire] of cases) assert.equal(formatReply(reply(ctx)), `${wire}\r\n`, ctx);
});

test('table invariants: valid codes, class matches, none on greeting/EHLO/3xx, every row cited', () => {
  for (const [ctx, e] of Object.entries(REPLY_CONTEXTS)) {
    assert.ok(isValidReplyCode(e.code), ctx);
    assert.ok(e.ref.length > 0, `${ctx} cites its source`);
    if (e.enhanced !== undefined) {
      assert.match(e.enhanced, /^[245]\.[0-9]{1,3}\.[0-9]{1,3}$/, ctx);
      assert.equal(e.enhanced[0], String(e.code)[0], `${ctx}: class equals first digit (RFC 3463 §2)`);
    }
  }
  for (const ctx of ['GREETING', 'EHLO_OK', 'HELO_OK', 'DATA_START', 'AUTH_CHALLENGE'] as const) {
    assert.equal(REPLY_CONTEXTS[ctx].enhanced, undefined, ctx);
  }
});

test('reply() replaces the text but never the codes', () => {
  assert.deepEqual(reply('RCPT_OK', 'Accepted <a@b.example>'), { code: 250, enhanced: '2.1.5', lines: ['Accepted <a@b.example>'] });
  assert.deepEqual(reply('GREETING', 'mx.example ESMTP Petrel'), { code: 220, lines: ['mx.example ESMTP Petrel'] });
  assert.equal(formatReply(reply('RELAY_DENIED', ['Relaying denied', 'for <x@y>'])), '550-5.7.1 Relaying denied\r\n550 5.7.1 for <x@y>\r\n');
});
