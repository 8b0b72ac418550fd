import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTextBounce, splitReply } from './nonstandard.js';
import { parseBounce } from './parse-dsn.js';

test('splitReply finds the remote host and the reply in a reason', () => {
  assert.deepEqual(splitReply('host mail.example.org[198.51.100.25] said: 552 5.2.2 <d@example.org>: Mailbox full (in reply to RCPT TO command)'), {
    remoteMta: 'mail.example.org',
    diagnostic: 'smtp; 552 5.2.2 <d@example.org>: Mailbox full',
    status: '5.2.2',
  });
  assert.deepEqual(splitReply("Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found'"), {
    diagnostic: 'smtp; 550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found',
    status: '5.1.10',
  });
  assert.deepEqual(splitReply('421 Service not available'), { diagnostic: 'smtp; 421 Service not available', status: '4.0.0' });
  assert.deepEqual(splitReply('host mx [192.0.2.1]: no reply code here'), { remoteMta: 'mx' });
  assert.deepEqual(splitReply(''), {});
});

test('an unknown mailer-daemon notice with X-Failed-Recipients is read as generic', () => {
  const found = parseTextBounce('Your mail could not be sent.\n\nThe server answered: 550 5.1.1 mailbox unavailable\n', { failedRecipients: 'x@example.org, <y@example.org>', from: 'MAILER-DAEMON@mx.example.org' });
  assert.equal(found?.format, 'generic');
  assert.deepEqual(found?.recipients.map((r) => [r.finalRecipient, r.status, r.diagnostic]), [
    ['x@example.org', '5.1.1', 'smtp; 550 5.1.1 mailbox unavailable'],
    ['y@example.org', '5.1.1', 'smtp; 550 5.1.1 mailbox unavailable'],
  ]);
  // The same words from an ordinary sender are not a bounce.
  assert.equal(parseTextBounce('The server answered: 550 5.1.1 mailbox unavailable\n', { from: 'friend@example.com', subject: 'lunch?' }), undefined);
});

test('an HTML-only Microsoft notice is read through its rendered text', async () => {
  const html =
    '<html><body><p>Delivery has failed to these recipients or groups:</p><p>ivan@fabrikam.example (ivan@fabrikam.example)<br>The email address could not be found.</p>' +
    '<p>Diagnostic information for administrators:</p><p>Generating server: EXCH01.fabrikam.example</p><p>ivan@fabrikam.example<br>Remote Server returned &#39;550 5.1.1 RESOLVER.ADR.RecipNotFound; not found&#39;</p></body></html>';
  const raw = Buffer.from(`From: postmaster@fabrikam.example\r\nSubject: Undeliverable: hi\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n${html}\r\n`);
  const parsed = await parseBounce(raw);
  assert.equal(parsed.kind, 'nonstandard');
  assert.equal(parsed.format, 'microsoft');
  assert.equal(parsed.reportingMta, 'EXCH01.fabrikam.example');
  assert.deepEqual(parsed.recipients.map((r) => [r.finalRecipient, r.status, r.category]), [['ivan@fabrikam.example', '5.1.1', 'bad-mailbox']]);
});

test('classification of parsed bounces follows the configured rules', async () => {
  const raw = Buffer.from('From: MAILER-DAEMON@mx.example.net\r\n\r\nHi. This is the qmail-send program at mx.example.net.\r\n\r\n<a@example.net>:\r\nRemote host said: 550 5.1.1 User unknown\r\n');
  const { parseRuleFile } = await import('./rules.js');
  const parsed = await parseBounce(raw, { rules: parseRuleFile('/user unknown/ my-hard-bounce\n').rules });
  assert.equal(parsed.recipients[0]!.category, 'my-hard-bounce');
});
