import { describe, expect, it } from 'vitest';
import { alertUrl, maskDatabaseUrl, parseConfig } from '../src/config.ts';

const base = {
  COTOOL_API_URL: 'https://app.cotool.ai',
  COTOOL_API_KEY: 'cotool-key-0123456789',
  SLACK_BOT_TOKEN: 'xoxb-1-2-3',
  SLACK_APP_TOKEN: 'xapp-1-2-3',
  SLACK_ALERT_CHANNEL: 'C0ALERTS',
};

function problems(env: Record<string, string | undefined>): string[] {
  const r = parseConfig(env);
  return r.ok ? [] : r.problems;
}

describe('parseConfig', () => {
  it('accepts the minimal Socket Mode configuration with documented defaults', () => {
    const r = parseConfig(base);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.slack.mode).toBe('socket');
    expect(r.config.poll.schedule).toBe('*/30 * * * * *');
    expect(r.config.sqlitePath).toBe('./data/cotool-slack.db');
    expect(r.config.port).toBe(3000);
    expect(r.config.cotool.appUrl).toBe('https://app.cotool.ai');
    expect(r.config.poll.backlog).toBe('recent');
    expect(r.config.poll.backlogMaxAgeMs).toBe(3_600_000);
    expect(r.config.secrets).toEqual(['cotool-key-0123456789', 'xoxb-1-2-3', 'xapp-1-2-3']);
  });

  it('HTTP mode requires the signing secret; Socket Mode does not', () => {
    const { SLACK_APP_TOKEN: _, ...http } = base;
    expect(problems(http)).toEqual([
      "SLACK_SIGNING_SECRET is missing: expected the app's signing secret (required in HTTP mode; or set SLACK_APP_TOKEN for Socket Mode)",
    ]);
    const r = parseConfig({ ...http, SLACK_SIGNING_SECRET: 'abcdef0123456789' });
    expect(r.ok && r.config.slack.mode).toBe('http');
  });

  it.each([
    ['COTOOL_API_URL', undefined, /^COTOOL_API_URL is missing: expected the Cotool API base URL/],
    ['SLACK_BOT_TOKEN', undefined, /^SLACK_BOT_TOKEN is missing: expected the bot token, starting with xoxb-/],
    ['COTOOL_API_URL', 'ftp://x', /^COTOOL_API_URL is invalid: expected .*http\(s\) URL/],
    ['COTOOL_API_URL', 'https://user:pw@x.example', /^COTOOL_API_URL is invalid/],
    ['COTOOL_API_KEY', '', /^COTOOL_API_KEY is missing/],
    ['SLACK_BOT_TOKEN', 'xoxp-user-token', /^SLACK_BOT_TOKEN is invalid: expected a bot token starting with xoxb-/],
    ['SLACK_APP_TOKEN', 'nope', /^SLACK_APP_TOKEN is invalid: expected an app-level token/],
    ['SLACK_ALERT_CHANNEL', '#alerts', /^SLACK_ALERT_CHANNEL is invalid: expected a channel id/],
    ['POLL_SCHEDULE', 'every 30s', /^POLL_SCHEDULE is invalid: expected a cron expression/],
    ['DATABASE_URL', 'mysql://db/x', /^DATABASE_URL is invalid: expected sqlite:<path> or postgres:\/\//],
    ['DATABASE_URL', 'postgres:///x', /^DATABASE_URL is invalid: expected sqlite:<path> or postgres:\/\//],
    ['DATABASE_URL', 'sqlite:', /^DATABASE_URL is invalid/],
    ['PORT', '70000', /^PORT is invalid/],
    ['LOG_LEVEL', 'loud', /^LOG_LEVEL is invalid/],
    ['SLACK_ALLOWED_USERS', 'U123,bob', /^SLACK_ALLOWED_USERS is invalid/],
    ['SLACK_ALLOWED_USERGROUPS', 'U123', /^SLACK_ALLOWED_USERGROUPS is invalid/],
    ['MIN_SEVERITY', 'urgent', /^MIN_SEVERITY is invalid/],
    ['NOTIFY_SOURCES', 'email,carrier-pigeon', /^NOTIFY_SOURCES is invalid/],
    ['BACKLOG', 'some', /^BACKLOG is invalid/],
    ['CLOSE_REASON_REQUIRED', 'maybe', /^CLOSE_REASON_REQUIRED is invalid/],
    ['COTOOL_ALERT_URL_TEMPLATE', '{appUrl}/{evil}', /^COTOOL_ALERT_URL_TEMPLATE is invalid/],
  ])('%s=%s → one line naming the variable', (name, value, expected) => {
    const p = problems({ ...base, [name]: value });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(expected);
    expect(p[0]).not.toContain('\n');
  });

  it('never echoes secret values in problems', () => {
    const p = problems({ ...base, SLACK_BOT_TOKEN: 'xoxp-secret-value-123', COTOOL_API_KEY: 'short' });
    expect(p.join(' ')).not.toContain('xoxp-secret-value-123');
    expect(p).toHaveLength(2);
  });

  it('parses lists, mentions and an sqlite path', () => {
    const r = parseConfig({
      ...base,
      SLACK_ALLOWED_USERS: ' U111, W222 ,',
      SLACK_ALLOWED_USERGROUPS: 'S333',
      ESCALATION_MENTION: 'S0ONCALL,U0BOSS,here',
      NOTIFY_SOURCES: 'email,cotool_detection',
      MIN_SEVERITY: 'high',
      DATABASE_URL: 'sqlite:/var/lib/cotool/bot.db',
      SLACK_API_URL: 'http://127.0.0.1:9999/api',
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.slack.allowedUsers).toEqual(['U111', 'W222']);
    expect(r.config.slack.allowedUsergroups).toEqual(['S333']);
    expect(r.config.slack.escalationMention).toBe('<!subteam^S0ONCALL> <@U0BOSS> <!here>');
    expect(r.config.poll.sources).toEqual(['email', 'cotool_detection']);
    expect(r.config.sqlitePath).toBe('/var/lib/cotool/bot.db');
    expect(r.config.slack.apiUrl).toBe('http://127.0.0.1:9999/api/');
  });

  it('selects PostgreSQL for postgres:// and postgresql:// URLs; their password is a secret', () => {
    for (const url of ['postgres://bot:s3cret%2Fpw@db.internal:5432/cotool', 'postgresql://bot:s3cret%2Fpw@db/c']) {
      const r = parseConfig({ ...base, DATABASE_URL: url });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.config.database).toEqual({ kind: 'postgres', url });
      expect(r.config.databaseUrl).toBe(url);
      expect(r.config.sqlitePath).toBe('');
      expect(r.config.secrets).toEqual(expect.arrayContaining(['s3cret%2Fpw', 's3cret/pw']));
    }
    const sqlite = parseConfig(base);
    expect(sqlite.ok && sqlite.config.database).toEqual({ kind: 'sqlite', path: './data/cotool-slack.db' });
  });

  it('never echoes a database password in problems', () => {
    const p = problems({ ...base, DATABASE_URL: 'postgres://bot:hunter2-secret@/x' });
    expect(p).toHaveLength(1);
    expect(p[0]).not.toContain('hunter2-secret');
  });

  it('reads booleans', () => {
    const r = parseConfig({ ...base, CLOSE_REASON_REQUIRED: 'TRUE', EXPAND_ALERT_IDS: '0' });
    expect(r.ok && [r.config.slack.closeReasonRequired, r.config.slack.expandAlertIds]).toEqual([true, false]);
  });

  it('treats empty strings as unset', () => {
    const r = parseConfig({ ...base, MIN_SEVERITY: '', SLACK_API_URL: ' ', ESCALATION_MENTION: '' });
    expect(r.ok).toBe(true);
  });
});

describe('maskDatabaseUrl', () => {
  it.each([
    ['postgres://bot:pw@127.0.0.1:5432/cotool', 'postgres://bot:***@127.0.0.1:5432/cotool'],
    ['postgresql://bot:p%40ss:w@db/c?sslmode=require', 'postgresql://bot:***@db/c?sslmode=require'],
    ['postgres://bot@db/c', 'postgres://bot@db/c'],
    ['postgres://db/c?user=bot&password=pw&x=1', 'postgres://db/c?user=bot&password=***&x=1'],
    ['sqlite:./data/x.db', 'sqlite:./data/x.db'],
  ])('%s → %s', (url, masked) => {
    expect(maskDatabaseUrl(url)).toBe(masked);
  });
});

describe('alertUrl', () => {
  const cotool = {
    appUrl: 'https://app.cotool.ai',
    alertUrlTemplate: '{appUrl}/{organizationName}/alerts/{displayId}',
  };
  it('builds the web link from the template, encoding each part', () => {
    expect(alertUrl(cotool, { id: 'x', displayId: 'COT-12', organizationName: 'acme corp' })).toBe(
      'https://app.cotool.ai/acme%20corp/alerts/COT-12',
    );
  });
  it('returns null when the template needs an organization the alert lacks', () => {
    expect(alertUrl(cotool, { id: 'x', displayId: 'COT-12', organizationName: null })).toBeNull();
  });
  it('cannot be steered to another host by alert data', () => {
    const url = alertUrl(cotool, { id: 'x', displayId: '../../@evil.example', organizationName: '//evil.example' });
    expect(url && new URL(url).host).toBe('app.cotool.ai');
  });
});

describe('thread, four eyes and the noise report', () => {
  it('defaults: timeline in the thread, no reply sync, no four eyes, no scheduled report', () => {
    const r = parseConfig(base);
    expect(r.ok && [r.config.thread, r.config.fourEyes, r.config.stats]).toEqual([
      { timeline: 'all', syncReplies: false },
      { severities: [] },
      { postSchedule: null },
    ]);
  });

  it('reads each of them', () => {
    const r = parseConfig({
      ...base,
      THREAD_TIMELINE: 'comments',
      SYNC_THREAD_REPLIES: 'true',
      FOUR_EYES_SEVERITIES: 'critical, high',
      STATS_POST_SCHEDULE: '0 0 9 * * 1',
    });
    expect(r.ok && [r.config.thread, r.config.fourEyes, r.config.stats]).toEqual([
      { timeline: 'comments', syncReplies: true },
      { severities: ['critical', 'high'] },
      { postSchedule: '0 0 9 * * 1' },
    ]);
  });

  it('refuses bad values with one line naming the variable', () => {
    expect(problems({ ...base, THREAD_TIMELINE: 'some' })).toEqual([
      expect.stringMatching(/^THREAD_TIMELINE is invalid: expected .*all.*comments.*off/),
    ]);
    expect(problems({ ...base, SYNC_THREAD_REPLIES: 'maybe' })).toEqual([
      expect.stringMatching(/^SYNC_THREAD_REPLIES is invalid/),
    ]);
    expect(problems({ ...base, FOUR_EYES_SEVERITIES: 'critical,urgent' })).toEqual([
      expect.stringMatching(/^FOUR_EYES_SEVERITIES is invalid: expected .*low.*critical/),
    ]);
    expect(problems({ ...base, STATS_POST_SCHEDULE: 'weekly' })).toEqual([
      'STATS_POST_SCHEDULE is invalid: expected a cron expression, e.g. "0 0 9 * * 1" (Mondays at 09:00)',
    ]);
    for (const p of problems({ ...base, THREAD_TIMELINE: 'x', FOUR_EYES_SEVERITIES: 'y' })) {
      expect(p).not.toMatch(/\n/);
    }
  });
});

describe('parseConfig: claims', () => {
  it('refuses a claim-stale time shorter than a Slack write can take after its claim was refreshed', () => {
    expect(problems({ ...base, COTOOL_SLACK_CLAIM_STALE_MS: '29999' })).toEqual([
      'COTOOL_SLACK_CLAIM_STALE_MS is invalid: expected at least 30000 ms: a Slack write (20000 ms at most) must land before another sender may take its claim over',
    ]);
    const r = parseConfig({ ...base, COTOOL_SLACK_CLAIM_STALE_MS: '30000' });
    expect(r.ok && r.config.tuning.claimStaleMs).toBe(30_000);
    expect(parseConfig(base).ok).toBe(true); // unset: the 60 s default
  });
});

describe('retention', () => {
  it('RETENTION_DAYS: 30 days by default; a whole number of days from 1', () => {
    const d = parseConfig(base);
    expect(d.ok && d.config.retention).toEqual({ days: 30, ms: 30 * 86_400_000 });
    const r = parseConfig({ ...base, RETENTION_DAYS: '7' });
    expect(r.ok && r.config.retention).toEqual({ days: 7, ms: 7 * 86_400_000 });
    for (const bad of ['0', '1.5', 'month', '-3', '4000']) {
      expect(problems({ ...base, RETENTION_DAYS: bad })).toEqual([expect.stringMatching(/^RETENTION_DAYS is invalid/)]);
    }
  });
});

describe('the next moves', () => {
  it('ASK_USER_TIMEOUT_MINUTES (30) and REMIND_AFTER_MINUTES (15, 0 turns reminders off); on-call defaults to ESCALATION_MENTION', () => {
    const d = parseConfig(base);
    expect(d.ok && d.config.nextMove).toEqual({
      askUserTimeoutMs: 30 * 60_000,
      remindAfterMs: 15 * 60_000,
      oncall: [],
    });
    const r = parseConfig({
      ...base,
      ASK_USER_TIMEOUT_MINUTES: '5',
      REMIND_AFTER_MINUTES: '0',
      ESCALATION_MENTION: 'S0ONCALL',
    });
    expect(r.ok && r.config.nextMove).toEqual({ askUserTimeoutMs: 5 * 60_000, remindAfterMs: 0, oncall: ['S0ONCALL'] });
    for (const bad of ['0', '2.5', 'soon', '20000']) {
      expect(problems({ ...base, ASK_USER_TIMEOUT_MINUTES: bad })).toEqual([
        expect.stringMatching(/^ASK_USER_TIMEOUT_MINUTES is invalid/),
      ]);
    }
    for (const bad of ['-1', '1.5', 'never']) {
      expect(problems({ ...base, REMIND_AFTER_MINUTES: bad })).toEqual([
        expect.stringMatching(/^REMIND_AFTER_MINUTES is invalid/),
      ]);
    }
  });
});
