/**
 * @module delivery/client-body.test
 *
 * The fast DATA payload path agrees with the protocol engine's reference
 * `dotStuff` on fixed and random bodies; BDAT payloads keep clean bodies
 * untouched and repair bare CR/LF; 8-bit detection and sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dotStuff } from '../smtp/framing.js';
import { bdatPayload, dataPayload, prepareBody } from './client-body.js';

const CASES = [
  '',
  'x',
  '.',
  '.\r\n',
  'a\r\n',
  'a\r\n.',
  'Subject: s\r\n\r\n.leading\r\n..two\r\nend\r\n',
  'no final crlf',
  'bare\nlf\r\n',
  'bare\rcr\r\n',
  'ends in cr\r',
  '\r\n.\r\n',
  '.\r\n.\r\n.',
  'caf\u00e9\r\n',
];

test('dataPayload equals dotStuff on fixed and random bodies', () => {
  let seed = 11;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const alphabet = ['\r', '\n', '.', 'a', '\r\n', '\r\n.', 'é'];
  const random = Array.from({ length: 500 }, () => Array.from({ length: Math.floor(rnd() * 30) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join(''));
  for (const text of [...CASES, ...random]) {
    const b = Buffer.from(text, 'utf8');
    assert.deepEqual(Buffer.concat(dataPayload(prepareBody(b))), dotStuff(b), JSON.stringify(text));
  }
});

test('bdatPayload keeps CRLF bodies as they are (same buffer) and repairs bare CR/LF', () => {
  const clean = Buffer.from('Subject: s\r\n\r\n.dot\r\n');
  assert.equal(bdatPayload(prepareBody(clean)), clean);
  assert.equal(bdatPayload(prepareBody(Buffer.from('a\nb\rc\r\n.d\r'))).toString(), 'a\r\nb\r\nc\r\n.d\r\n');
});

test('prepareBody: size and 8-bit detection, arrays concatenated', () => {
  const p = prepareBody([Buffer.from('ab'), new Uint8Array([0xc3, 0xa9])]);
  assert.deepEqual([p.size, p.eightBit, p.bytes.toString('utf8')], [4, true, 'ab\u00e9']);
  assert.equal(prepareBody(Buffer.from('plain\r\n')).eightBit, false);
});
