import { describe, expect, it } from 'vitest';
import {
  alertRefFromUrl,
  type Command,
  findBareAlertIds,
  MAX_COMMAND_CHARS,
  parseCommand,
} from '../../src/core/command.ts';
import { HOSTILE } from '../slack/hostile.ts';

const APP = 'https://app.cotool.ai';
const UUID = '8f14e45f-ceea-467a-9c1a-6c1f8b3d2e5a';
const UUID_UPPER = UUID.toUpperCase();
/** Not an RFC 4122 version: still an id. */
const UUID_ODD = '00000000-0000-0000-0000-000000000000';
const LIVE = ['open', 'in_progress', 'escalated'];

const parse = (text: unknown) => parseCommand(text, { appUrl: APP });
const lookup = (ref: string): Command => ({ kind: 'lookup', ref });
const list = (o: Partial<Extract<Command, { kind: 'list' }>> = {}): Command => ({
  kind: 'list',
  status: LIVE as never,
  severity: [],
  source: [],
  page: 1,
  ...o,
});
/** An `invalid` answer whose message matches. */
const invalid = (re: RegExp) => ({ kind: 'invalid', message: expect.stringMatching(re) });

type Row = [label: string, input: unknown, expected: unknown];

const TABLE: Row[] = [
  // help
  ['empty', '', { kind: 'help' }],
  ['spaces only', '   \t ', { kind: 'help' }],
  ['help', 'help', { kind: 'help' }],
  ['HELP upper', 'HELP', { kind: 'help' }],
  ['question mark', '?', { kind: 'help' }],
  ['help with extra words', 'help me please', { kind: 'help' }],
  ['not a string', undefined, { kind: 'help' }],
  ['control chars only', '\u0000\u0007\u001b', { kind: 'help' }],
  // lookups
  ['display id', 'COT-123', lookup('COT-123')],
  ['lower case', 'cot-123', lookup('COT-123')],
  ['surrounding spaces', '   COT-123  ', lookup('COT-123')],
  ['space instead of dash', 'COT 123', lookup('COT-123')],
  ['no dash', 'cot123', lookup('COT-123')],
  ['en dash from autocorrect', 'COT–123', lookup('COT-123')],
  ['leading zeros', 'COT-0001', lookup('COT-1')],
  ['zero', 'COT-0', lookup('COT-0')],
  ['with a lookup word', 'show COT-9', lookup('COT-9')],
  ['zero-width inside', 'COT-\u200b12', lookup('COT-12')],
  ['newline around', '\nCOT-5\n', lookup('COT-5')],
  ['uuid', UUID, lookup(UUID)],
  ['uuid upper case', UUID_UPPER, lookup(UUID)],
  ['uuid of no RFC version', UUID_ODD, lookup(UUID_ODD)],
  ['uuid with spaces', `  ${UUID} `, lookup(UUID)],
  ['pasted URL, Slack-wrapped', `<${APP}/acme/alerts/COT-42>`, lookup('COT-42')],
  ['pasted URL with label', `<${APP}/acme/alerts/COT-42|app.cotool.ai/acme/alerts/COT-42>`, lookup('COT-42')],
  ['pasted URL bare', `${APP}/acme/alerts/COT-42`, lookup('COT-42')],
  ['URL by uuid', `<${APP}/acme/alerts/${UUID}>`, lookup(UUID)],
  ['URL with query and fragment', `<${APP}/acme/alerts/cot-7?tab=timeline#x>`, lookup('COT-7')],
  ['URL with id in query', `<${APP}/acme/inbox?alert=COT-8>`, lookup('COT-8')],
  ['URL upper-case host', `<HTTPS://APP.COTOOL.AI/acme/alerts/COT-3>`, lookup('COT-3')],
  ['URL with escaped ampersand', `<${APP}/acme/alerts/COT-4?a=1&amp;b=2>`, lookup('COT-4')],
  // bad lookups
  ['COT- alone', 'COT-', invalid(/needs the alert number/)],
  ['cot alone', 'cot', invalid(/needs the alert number/)],
  ['bare number', '123', invalid(/Did you mean `\/cotool COT-123`/)],
  ['number too long', 'COT-1234567890123', invalid(/too long/)],
  ['malformed uuid', '8f14e45f-ceea-467a-9c1a-6c1f8b3d2e5', invalid(/did not understand/)],
  ['two ids', 'COT-1 COT-2', invalid(/One alert at a time/)],
  ['other host', '<https://evil.example/acme/alerts/COT-1>', invalid(/not on Cotool \(app\.cotool\.ai\)/)],
  ['look-alike host', '<https://app.cotool.ai.evil.example/alerts/COT-1>', invalid(/not on Cotool/)],
  ['javascript URL', 'javascript:alert(1)', invalid(/did not understand/)],
  ['Cotool URL without an alert', `<${APP}/acme/settings>`, invalid(/does not point to an alert/)],
  ['gibberish', 'bananas', invalid(/did not understand `bananas`/)],
  ['status word without list', 'escalated', invalid(/\/cotool list escalated/)],
  ['mention token', '<!channel>', invalid(/did not understand that/)],
  ['typed channel mention', '&lt;!channel&gt;', invalid(/did not understand `<!channel>`/)],
  ['user mention', '<@U0123ABC|boss>', invalid(/did not understand `boss`/)],
  ['10,000 characters', 'x'.repeat(10_000), invalid(/10000 characters; \/cotool reads at most 1000/)],
  ['1,001 characters', `COT-1 ${'x'.repeat(995)}`, invalid(/1001 characters/)],
  // run
  ['run', `run ${UUID}`, { kind: 'run', runId: UUID }],
  ['run upper', `RUN ${UUID_UPPER}`, { kind: 'run', runId: UUID }],
  ['run link', `run <${APP}/acme/runs/${UUID}>`, { kind: 'run', runId: UUID }],
  ['run without id', 'run', invalid(/Which run\?/)],
  ['run with a display id', 'run COT-1', invalid(/not a run id/)],
  ['run with two ids', `run ${UUID} ${UUID}`, invalid(/One run at a time/)],
  // list
  ['list', 'list', list()],
  ['ls', 'ls', list()],
  ['list escalated', 'list escalated', list({ status: ['escalated'] })],
  [
    'list fp critical email',
    'list fp critical email',
    list({ status: ['closed_false_positive'], severity: ['critical'], source: ['email'] }),
  ],
  [
    'list closed',
    'list closed',
    list({ status: ['closed_true_positive', 'closed_false_positive', 'closed_true_positive_benign'] }),
  ],
  ['list all', 'list all high', list({ status: [], severity: ['high'] })],
  ['list in progress (two words)', 'list In Progress', list({ status: ['in_progress'] })],
  [
    'list commas and dashes',
    'list open,in-progress , benign',
    list({ status: ['open', 'in_progress', 'closed_true_positive_benign'] }),
  ],
  [
    'list aliases',
    'list tp crit med detection jira-automation schedule',
    list({
      status: ['closed_true_positive'],
      severity: ['critical', 'medium'],
      source: ['cotool_detection', 'jira-automation', 'cron'],
    }),
  ],
  ['list duplicates', 'list high HIGH high', list({ severity: ['high'] })],
  ['list page', 'list escalated page 3', list({ status: ['escalated'], page: 3 })],
  ['list page:2', 'list page:2', list({ page: 2 })],
  ['list page 0', 'list page 0', invalid(/Pages are numbered/)],
  ['list bogus', 'list bogus', invalid(/`bogus` is not a filter\. Statuses: live, open/)],
  ['list injection', 'list <!channel>', list()],
  ['list typed injection', 'list &lt;!here&gt;', invalid(/`<!here>` is not a filter/)],
  // search
  ['search', 'search okta push', { kind: 'search', q: 'okta push' }],
  ['search keeps case', 'SEARCH Okta', { kind: 'search', q: 'Okta' }],
  ['search quoted', 'search "okta push"', { kind: 'search', q: 'okta push' }],
  ['search decodes entities', 'search a &amp; b &lt;c&gt;', { kind: 'search', q: 'a & b <c>' }],
  ['search with a link', 'search <https://evil.example/x|click>', { kind: 'search', q: 'https://evil.example/x' }],
  ['search with a mention', 'search <@U1|bob> phishing', { kind: 'search', q: 'bob phishing' }],
  ['search control chars', 'search ok\u0000ta\u202e', { kind: 'search', q: 'okta' }],
  ['search empty', 'search', invalid(/What should I search for\?/)],
  ['search only spaces', 'search    ', invalid(/What should I search for\?/)],
  ['search 500 chars', `search ${'a'.repeat(500)}`, { kind: 'search', q: 'a'.repeat(500) }],
  ['search 600 chars', `search ${'a'.repeat(600)}`, invalid(/600 characters; Cotool takes at most 500/)],
  ['find', 'find mfa fatigue', { kind: 'search', q: 'mfa fatigue' }],
  // the noise report
  ['stats', 'stats', { kind: 'stats', days: 7 }],
  ['stats upper case', 'STATS', { kind: 'stats', days: 7 }],
  ['stats 7d', 'stats 7d', { kind: 'stats', days: 7 }],
  ['stats 30d', 'stats 30d', { kind: 'stats', days: 30 }],
  ['stats 30D spaced', '  stats   30D ', { kind: 'stats', days: 30 }],
  ['stats 30 days', 'stats 30 days', { kind: 'stats', days: 30 }],
  ['stats month', 'stats month', { kind: 'stats', days: 30 }],
  ['stats 90d refused', 'stats 90d', invalid(/not a window for the noise report.*`\/cotool stats 30d`/)],
  ['stats gibberish refused', 'stats yesterday', invalid(/`yesterday` is not a window/)],
  ['stats with a mention reads as nothing', 'stats <!channel>', { kind: 'stats', days: 7 }],
];

describe('parseCommand: a table of valid, odd and hostile inputs', () => {
  it('has at least 40 rows', () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(40);
  });

  it.each(TABLE)('%s', (_label, input, expected) => {
    expect(parse(input)).toEqual(expected);
  });
});

describe('parseCommand: properties', () => {
  it('never throws and always answers a known kind, whatever the input', () => {
    const inputs = [
      ...HOSTILE,
      ...HOSTILE.map((h) => `list ${h}`),
      ...HOSTILE.map((h) => `search ${h}`),
      ...HOSTILE.map((h) => `run ${h}`),
      null,
      42,
      {},
      'x'.repeat(MAX_COMMAND_CHARS),
      'x'.repeat(MAX_COMMAND_CHARS + 1),
    ];
    for (const input of inputs) {
      const r = parse(input);
      expect(['lookup', 'run', 'list', 'search', 'help', 'invalid']).toContain(r.kind);
      if (r.kind === 'invalid') {
        // Messages quote at most 40 characters of the input, and stay short.
        expect(r.message.length).toBeLessThan(700);
      }
      if (r.kind === 'search') expect(r.q.length).toBeLessThanOrEqual(500);
    }
  });

  it('sends Cotool only normalised ids', () => {
    for (const input of ['cot-00012', 'COT 12', `<${APP}/a/alerts/cot-12>`, 'COT—12']) {
      expect(parse(input)).toEqual(lookup('COT-12'));
    }
  });

  it('reads links only on the configured Cotool host', () => {
    expect(
      parseCommand(`<https://cotool.acme.internal/x/alerts/COT-5>`, { appUrl: 'https://cotool.acme.internal' }),
    ).toEqual(lookup('COT-5'));
    expect(parseCommand(`<${APP}/x/alerts/COT-5>`, { appUrl: 'https://cotool.acme.internal' })).toMatchObject({
      kind: 'invalid',
    });
    expect(parseCommand(`<${APP}/x/alerts/COT-5>`, {})).toMatchObject({ kind: 'invalid' });
  });
});

describe('alertRefFromUrl (unfurls)', () => {
  it.each([
    [`${APP}/acme/alerts/COT-42`, 'COT-42'],
    [`${APP}/acme/alerts/${UUID_UPPER}`, UUID],
    [`${APP}/acme/alerts/COT-0042/timeline`, 'COT-42'],
    [`${APP}/alerts?id=COT-9`, 'COT-9'],
    [`${APP}/acme/settings`, null],
    ['https://evil.example/acme/alerts/COT-1', null],
    ['ftp://app.cotool.ai/acme/alerts/COT-1', null],
    ['not a url', null],
    [`${APP}/acme/alerts/%E0%A4%A`, null],
  ])('%s → %s', (url, expected) => {
    expect(alertRefFromUrl(url, APP)).toBe(expected);
  });
});

describe('findBareAlertIds (EXPAND_ALERT_IDS)', () => {
  it.each([
    ['see COT-12 please', ['COT-12']],
    ['COT-12, COT-13 and COT-12 again', ['COT-12', 'COT-13']],
    ['COT-1 COT-2 COT-3 COT-4', ['COT-1', 'COT-2', 'COT-3']],
    ['(COT-0007)', ['COT-7']],
    ['`COT-5`', ['COT-5']],
    ['cot-12 lower case is a word, not an id', []],
    ['XCOT-12 or COT-12x or COT-12-3', []],
    ['https://app.cotool.ai/acme/alerts/COT-12', []],
    ['<https://app.cotool.ai/acme/alerts/COT-12|COT-12>', []],
    ['path/COT-12 and #COT-13 and @COT-14', []],
    ['COT-', []],
    ['', []],
  ])('%s', (text, expected) => {
    expect(findBareAlertIds(text)).toEqual(expected);
  });

  it('ignores what is not text', () => {
    expect(findBareAlertIds(undefined)).toEqual([]);
    expect(findBareAlertIds({ text: 'COT-1' })).toEqual([]);
  });
});
