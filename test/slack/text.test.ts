import { describe, expect, it } from 'vitest';
import { escapeMrkdwn, mrkdwn, oneLine, plain, quote, safeUrl, slackDate, truncate } from '../../src/slack/text.ts';

const WJ = '\u2060';

describe('escapeMrkdwn', () => {
  it.each([
    ['plain words', 'plain words'],
    ['a & b', 'a &amp; b'],
    ['<!channel>', '&lt;!channel&gt;'],
    ['<@U0123ABC>', '&lt;@U0123ABC&gt;'],
    ['<https://evil.example|https://cotool.ai>', '&lt;https://evil.example|https://cotool.ai&gt;'],
    ['&lt;!channel&gt;', '&amp;lt;!channel&amp;gt;'],
    ['@channel', `@${WJ}channel`],
    ['@here and @Everyone', `@${WJ}here and @${WJ}Everyone`],
    ['@group', `@${WJ}group`],
    ['mail me at ana@acme.com', 'mail me at ana@acme.com'],
    ['bob@heretic.io x@groupon.com ops@channelpartner.net', 'bob@heretic.io x@groupon.com ops@channelpartner.net'],
    ['@heretic @groupon @channelpartner', '@heretic @groupon @channelpartner'],
    ['(@here) "@channel", @here.', `(@${WJ}here) "@${WJ}channel", @${WJ}here.`],
    ['@\u0000channel', `@${WJ}channel`],
    ['\u0000\u0007\u001b[31mred', '[31mred'],
    ['c1\u0085\u0090x', 'c1\nx'],
    ['tab\tnew\nline', 'tab\tnew\nline'],
    ['crlf\r\nand\rcr', 'crlf\nand\ncr'],
    ['sep\u2028para\u2029', 'sep\npara\n'],
    ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['\u2066iso\u2069', 'iso'],
    ['lone \uD83D surrogate', 'lone \uFFFD surrogate'],
    ['*bold* _it_ ~s~ `code`', '*bold* _it_ ~s~ `code`'],
    ['> quote', '&gt; quote'],
    ['עברית and العربية', 'עברית and العربية'],
    ['👨‍👩‍👧‍👦 zero\u200Bwidth', '👨‍👩‍👧‍👦 zero\u200Bwidth'],
  ])('%j', (input, expected) => {
    expect(escapeMrkdwn(input)).toBe(expected);
  });
});

describe('truncate', () => {
  it.each([
    ['short', 10, 'short'],
    ['exactly10!', 10, 'exactly10!'],
    ['hello world', 8, 'hello w…'],
    ['hello world', 7, 'hello…'], // no space left before the ellipsis
    ['hello world', 1, '…'],
    ['hello', 0, ''],
    ['ab👍cd', 3, 'ab…'], // cut would land inside the surrogate pair
    ['ab👍cd', 4, 'ab…'],
    ['ab👍cd', 5, 'ab👍…'],
    ['ab👍🏽cd', 5, 'ab…'], // skin-tone modifier stays with its emoji
    ['ab👍🏽cd', 7, 'ab👍🏽…'],
    ['a👨‍👩‍👧‍👦b', 5, 'a…'], // ZWJ family is one grapheme
    ['🇫🇷🇩🇪🇮🇹', 7, '🇫🇷…'], // flags are not split into regional indicators
    ['e\u0301e\u0301e\u0301', 4, 'e\u0301…'],
  ])('%j to %i', (input, max, expected) => {
    const out = truncate(input, max);
    expect(out).toBe(expected);
    expect(out.length).toBeLessThanOrEqual(Math.max(max, 0));
    expect(out.isWellFormed()).toBe(true);
  });

  it('falls back to code points when a single grapheme is longer than the limit', () => {
    const zalgo = `Z${'\u0336'.repeat(5_000)}`;
    const out = truncate(zalgo, 100);
    expect(out.length).toBe(100);
    expect(out.endsWith('…')).toBe(true);
  });

  it('never yields a lone surrogate at any cut point', () => {
    const s = '👍🏽🇫🇷👨‍👩‍👧‍👦x😀'.repeat(3);
    for (let max = 1; max <= s.length + 1; max++) {
      const out = truncate(s, max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out.isWellFormed()).toBe(true);
    }
  });
});

describe('mrkdwn', () => {
  it.each([
    ['a&b&c', 100, 'a&amp;b&amp;c'],
    ['a&b&c', 6, 'a…'], // "a&amp" would split the entity
    ['a&b&c', 8, 'a&amp;b…'],
    ['<<<<', 9, '&lt;&lt;…'],
    ['<<<<', 8, '&lt;…'],
    ['x>', 5, 'x&gt;'],
  ])('%j into %i', (input, max, expected) => {
    expect(mrkdwn(input, max)).toBe(expected);
  });

  it('never cuts an entity, whatever the limit', () => {
    const s = '&<>a'.repeat(50);
    for (let max = 1; max < 300; max++) {
      const out = mrkdwn(s, max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out.replace(/&(?:amp|lt|gt);/g, '')).not.toMatch(/[&<>]/);
    }
  });

  it('measures after escaping', () => {
    expect(mrkdwn('<'.repeat(10_000), 3_000).length).toBeLessThanOrEqual(3_000);
  });
});

describe('plain', () => {
  it.each([
    ['Phishing: invoice', 'Phishing: invoice'],
    ['@channel hi', `@${WJ}channel hi`],
    [
      '<!here> <@U1> <#C1> <https://x|y> <mailto:a@b.c>',
      `<${WJ}!here> <${WJ}@U1> <${WJ}#C1> <${WJ}https://x|y> <${WJ}mailto:a@b.c>`,
    ],
    ['a < b, <3, a&b', 'a < b, <3, a&b'],
    ['sort <in.txt >out.txt; type <C:\\x.txt', 'sort <in.txt >out.txt; type <C:\\x.txt'],
    ['<tel:+1555> <slack://open>', `<${WJ}tel:+1555> <${WJ}slack://open>`],
    ['\u0000bell\u0007', 'bell'],
  ])('%j', (input, expected) => {
    expect(plain(input, 100)).toBe(expected);
  });

  it('truncates after neutralising', () => {
    expect(plain('<!channel>'.repeat(100), 75).length).toBeLessThanOrEqual(75);
  });
});

describe('oneLine and quote', () => {
  it('collapses line breaks', () => {
    expect(oneLine('  a\n\n b\u2028c\t d\u0085e\r\nf  ')).toBe('a b c d e f');
  });

  it('quotes every line, escaped and bounded', () => {
    expect(quote('one\n> two\n:white_check_mark: Closed', { maxChars: 100, maxLines: 5, max: 500 })).toBe(
      '>one\n>&gt; two\n>:white_check_mark: Closed',
    );
    expect(quote('1\n2\n3\n4', { maxChars: 100, maxLines: 2, max: 500 })).toBe('>1\n>2\n>…');
    expect(quote('x'.repeat(1_000), { maxChars: 10, maxLines: 5, max: 500 })).toBe(`>${'x'.repeat(9)}…`);
    expect(quote('&'.repeat(1_000), { maxChars: 1_000, maxLines: 5, max: 100 }).length).toBeLessThanOrEqual(100);
  });
});

describe('safeUrl', () => {
  it.each([
    ['https://app.cotool.ai/acme/alerts/COT-1', 'https://app.cotool.ai/acme/alerts/COT-1'],
    ['http://example.com', 'http://example.com/'],
    ['https://example.com/a b?q=<x>', 'https://example.com/a%20b?q=%3Cx%3E'],
    ['https://xn--80ak6aa92e.com/', 'https://xn--80ak6aa92e.com/'],
    ['javascript:alert(1)', null],
    ['JaVaScRiPt:alert(1)', null],
    [' javascript:alert(1)', null],
    ['java\nscript:alert(1)', null],
    ['data:text/html;base64,PHNjcmlwdD4=', null],
    ['vbscript:msgbox(1)', null],
    ['file:///etc/passwd', null],
    ['ftp://example.com/x', null],
    ['mailto:a@b.c', null],
    ['https://user:pass@evil.example/', null],
    ['https://user@evil.example/', null],
    ['//evil.example/x', null],
    ['/relative/path', null],
    ['not a url', null],
    ['', null],
    [null, null],
    [undefined, null],
    [`https://example.com/${'a'.repeat(3_000)}`, null],
  ])('%j', (input, expected) => {
    expect(safeUrl(input)).toBe(expected);
  });
});

describe('slackDate', () => {
  it('renders a Slack date token with a UTC fallback', () => {
    expect(slackDate('2026-11-23T10:05:00.000Z')).toBe(
      '<!date^1795428300^{date_short_pretty} at {time}|2026-11-23 10:05 UTC>',
    );
    expect(slackDate('2026-11-23T12:05:30+02:00', '{date_num}')).toBe(
      '<!date^1795428330^{date_num}|2026-11-23 10:05 UTC>',
    );
    expect(slackDate('2026-11-23')).toBe('<!date^1795392000^{date_short_pretty} at {time}|2026-11-23 00:00 UTC>');
  });

  it.each([
    ['yesterday', 'yesterday'],
    ['2026-13-45T00:00:00Z', '2026-13-45T00:00:00Z'],
    ['2026-11-23T10:05:00', '2026-11-23T10:05:00'], // no offset: would depend on the host's zone
    ['<!channel>', '&lt;!channel&gt;'],
    ['', ''],
  ])('shows %j as escaped text', (input, expected) => {
    expect(slackDate(input)).toBe(expected);
  });
});
