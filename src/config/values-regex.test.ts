/**
 * @module config/values-regex.test
 *
 * The Perl → JavaScript regex translation, tested by behaviour: what each translated pattern
 * matches and does not match, and which constructs are refused (with the offset and the
 * construct named).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EXPECTED, parsePatternRule, parsePerlRegex, parseRegex } from './values.js';

/** [pattern, texts it must match, texts it must not match] */
const BEHAVIOUR: ReadonlyArray<readonly [string, readonly string[], readonly string[]]> = [
  ['/user unknown/', ['550 User Unknown', 'user unknown'], ['user known']],
  ['/(?-i)User/', ['User'], ['user', 'USER']],
  ['/(?-i)a/i', ['a'], ['A']],
  ['/(?i)abc/', ['ABC'], []],
  ['/abc/i', ['xAbCx'], []],
  ['/(?s-i)a.C/', ['a\nC'], ['a\nc']],
  ['/\\Aabc/', ['abc def'], ['x abc']],
  ['/abc\\z/', ['xabc'], ['abc\n', 'abcd']],
  ['/abc\\Z/', ['abc', 'abc\n'], ['abc\nx']],
  ['/(?m)^b\\z/', ['a\nb'], ['b\nc']],
  ['/(?m)\\Ab/', ['b\na'], ['a\nb']],
  ['/a(?#a comment)b/', ['ab'], ['a b']],
  ['/\\x23/', ['#'], ['x23']],
  ['/\\x9/', ['\t'], ['x9']],
  ['/\\x{41}/', ['a', 'A'], ['x{41}']],
  ['/(?<code>\\d{3}) \\k<code>/', ['550 550'], ['550 551']],
  ['/(?P<code>\\d{3}) (?P=code)/', ['421 421'], ['421 450']],
  ['/(\\d) \\g{1}/', ['5 5'], ['5 4']],
  ['/a\\/b/', ['a/b'], ['ab']],
  ['/[/]x/', ['/x'], ['x']],
  ['//', ['', 'anything'], []],
  ['/^[[:digit:]]+$/', ['123'], ['12a']],
  ['/^[[:alpha:][:digit:]_]+$/', ['ab_12'], ['ab-12']],
  ['/[]a]/', [']'], ['b']],
  ['/[^]a]/', ['b'], [']', 'a']],
  ['/\\Qa.b*\\E$/', ['xa.b*'], ['axb', 'a.bbb']],
  ['/a.c/', ['abc', 'a\rc'], ['a\nc']],
  ['/(?s)a.c/', ['a\nc'], []],
  ['/^a\\h+b$/', ['a \t b'], ['a\nb']],
  ['/^a\\Rb$/', ['a\r\nb', 'a\nb'], ['ab']],
  ['/^2.\\d+.\\d+;/', ['2.0.0;ok'], ['5.1.1;x']],
  ['/^[45]\\.1\\.[1346];/', ['5.1.1;user unknown'], ['5.1.2;']],
  ['/^a{2}$/', ['aa'], ['a', 'aaa']],
  ['/a{/', ['a{'], []],
  ['/(?i:abc)d/', ['ABCD'], []],
  ['/rate limit|try again later/', ['Please TRY AGAIN LATER'], ['try later']],
  ['/\\bspamhaus\\b/', ['listed at Spamhaus.org'], ['nospamhausx']],
];

describe('Perl regex translation: behaviour', () => {
  for (const [pattern, matches, misses] of BEHAVIOUR) {
    it(pattern, () => {
      const result = parsePerlRegex(pattern);
      assert.ok(result.ok, result.ok ? '' : result.message);
      for (const text of matches) assert.ok(result.value.test(text), `should match ${JSON.stringify(text)}`);
      for (const text of misses) assert.ok(!result.value.test(text), `should not match ${JSON.stringify(text)}`);
    });
  }
});

/** [pattern, offset, message must match, offending text] */
const REFUSED: ReadonlyArray<readonly [string, number, RegExp, string]> = [
  ['/a++/', 2, /possessive quantifier '\+\+'/, '++'],
  ['/a*+b/', 2, /possessive quantifier '\*\+'/, '*+'],
  ['/a{2}+/', 2, /possessive quantifier '\{2\}\+'/, '{2}+'],
  ['/(?>a+)b/', 1, /atomic groups/, '(?>'],
  ['/a(?-i)b/', 2, /inline modifier \(\?-i\) in the middle/, '(?-i)'],
  ['/a(?s:.)b/', 2, /inline modifier \(\?s:…\) in the middle/, '(?s:'],
  ['/(?R)/', 1, /recursion \(\?R\)/, '(?R)'],
  ['/(a)(?1)/', 4, /recursion \(\?1\)/, '(?1)'],
  ['/(?(1)a|b)/', 1, /conditionals/, '(?('],
  ['/(?|a)/', 1, /branch-reset/, '(?|'],
  ['/(*SKIP)a/', 1, /backtracking control verbs/, '(*SKIP)'],
  ['/\\Ga/', 1, /\\G/, '\\G'],
  ['/a\\Kb/', 2, /\\K/, '\\K'],
  ['/\\p{L}/', 1, /Unicode escape \\p/, '\\p'],
  ['/\\u00e9/', 1, /case-changing escape \\u/, '\\u'],
  ['/(a)\\g{-1}/', 4, /relative back-reference/, '\\g{-1}'],
  ['/[[:^alpha:]]/', 2, /negated POSIX class/, '[:^alpha:]'],
  ['/[[:letter:]]/', 2, /POSIX class \[:letter:\] is not supported/, '[:letter:]'],
  ['/(?x)a b/', 1, /x \(extended\) modifier/, '(?x)'],
  ['/abc/x', 5, /x \(extended\) modifier/, 'x'],
  ['/abc/g', 5, /modifier 'g' is not supported/, 'g'],
  ['/a/b/', 4, /unexpected '\/' right after the pattern \/a\/.*\\\//, '/'],
  ['/(/', 0, /JavaScript cannot compile the pattern: .*Unterminated group/, '/(/'],
  ['/abc', 0, /no closing \/.*\\x23/, '/abc'],
  ['abc', 0, /between slashes/, 'abc'],
  ['/x/ trailing', 4, /unexpected 'trailing' after the pattern/, 'trailing'],
];

describe('Perl regex translation: refused constructs', () => {
  for (const [pattern, offset, message, text] of REFUSED) {
    it(pattern, () => {
      const result = parseRegex({ raw: pattern, directive: 'address' });
      assert.equal(result.ok, false, 'accepted');
      if (result.ok) return;
      assert.match(result.message, message);
      assert.equal(result.offset, offset);
      assert.equal(result.text, text);
      assert.equal(result.expected, EXPECTED.regex);
    });
  }
});

describe('regex offsets inside longer values', () => {
  it('point into the raw value, past the words before the pattern', () => {
    const result = parsePatternRule({ raw: '/ok/ x', directive: 'reply' });
    assert.ok(result.ok);
    const refused = parsePatternRule({ raw: '/a(?>b)/ bounce-queue', directive: 'reply' });
    assert.equal(refused.ok, false);
    if (!refused.ok) assert.equal(refused.offset, 2);
  });
  it('keep the pattern as written in `source` and the actions in order', () => {
    const result = parsePatternRule({ raw: '/^421 .*too many/  mode=backoff  backoff-to-normal-after=30m', directive: 'reply' });
    assert.ok(result.ok);
    assert.equal(result.value.source, '/^421 .*too many/');
    assert.deepEqual(result.value.actions, [
      { key: 'mode', value: 'backoff' },
      { key: 'backoff-to-normal-after', value: '30m' },
    ]);
    assert.ok(result.value.regex.test('421 4.7.0 Too Many connections'));
  });
});
