import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeVerp, encodeVerp, parseVerp } from './verp.js';

test('PowerMTA VERP addresses decode to the recipient', () => {
  assert.equal(decodeVerp('news-user=gmail.com@bounce.example.com'), 'user@gmail.com');
  assert.equal(decodeVerp('<news-user=gmail.com@bounce.example.com>'), 'user@gmail.com');
  assert.equal(decodeVerp('bounces+user=gmail.com@bounce.example.com'), 'user@gmail.com');
  assert.equal(decodeVerp('bounces+john-doe=example.org@bounce.example.com'), 'john-doe@example.org');
  assert.equal(decodeVerp('news-john+tag=example.org@bounce.example.com'), 'john+tag@example.org');
  assert.equal(decodeVerp('news-jane.doe=mail.example.co.uk@bounce.example.com'), 'jane.doe@mail.example.co.uk');
  assert.equal(decodeVerp('user=gmail.com@bounce.example.com'), 'user@gmail.com');
  assert.equal(decodeVerp('news-用户=例子.广告@bounce.example.com'), '用户@例子.广告');
  assert.deepEqual(parseVerp('newsletters-user=gmail.com@bounce.example.com'), { prefix: 'newsletters', recipient: 'user@gmail.com' });
});

test('the bounce domain, when given, must match', () => {
  assert.equal(decodeVerp('news-user=gmail.com@BOUNCE.example.com', 'bounce.example.com'), 'user@gmail.com');
  assert.equal(decodeVerp('news-user=gmail.com@bounce.example.com', 'bounce.example.com.'), 'user@gmail.com');
  assert.equal(decodeVerp('news-user=gmail.com@other.example.com', 'bounce.example.com'), undefined);
});

test('addresses that are not VERP give undefined', () => {
  for (const address of [
    'bounces@bounce.example.com',
    'news-user@bounce.example.com',
    'news-user=localhost@bounce.example.com',
    '=gmail.com@bounce.example.com',
    'news-=gmail.com@bounce.example.com',
    'SRS0=HHH=TT=example.org=user@forwarder.example',
    'SRS1=HHH=forwarder.example==HHH=TT=example.org=user@other.example',
    'news-user=gmail.com',
    '',
    `${'a'.repeat(2000)}=b.com@x.com`,
    'news-user=-bad-.com@bounce.example.com',
  ]) {
    assert.equal(decodeVerp(address), undefined, address);
  }
  assert.equal(decodeVerp(undefined as never), undefined);
});

test('encodeVerp is the inverse of decodeVerp', () => {
  const address = encodeVerp('news', 'user@gmail.com', 'bounce.example.com');
  assert.equal(address, 'news-user=gmail.com@bounce.example.com');
  assert.equal(decodeVerp(address, 'bounce.example.com'), 'user@gmail.com');
});
