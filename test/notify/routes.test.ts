import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/load-config.ts';
import { alertIdOfKey, allChannels, cardKey, parseRoutes, routeAlert } from '../../src/notify/routes.ts';
import { alert } from '../support/alerts.ts';

const ok = (src: string, name = 'routes.yaml') => {
  const r = parseRoutes(src, name);
  if (!r.ok) throw new Error(r.problem);
  return r.routes;
};
const problem = (src: string, name = 'routes.yaml') => {
  const r = parseRoutes(src, name);
  if (r.ok) throw new Error('expected a problem');
  return r.problem;
};

const EXAMPLE = `
- name: critical to the SOC with on-call
  match: { severity: { min: critical } }
  channels: C0SOCCRIT
  mention: S0ONCALL
- name: bug bounty to AppSec
  match: { source: [bugcrowd, hackerone] }
  channels: [C0APPSEC]
  storm_threshold: 50
`;

describe('routes', () => {
  it('the README example: critical → #soc-critical with @oncall; bugcrowd/hackerone → #appsec; the rest to the default', () => {
    const routes = ok(EXAMPLE);
    const crit = routeAlert(alert({ severity: 'critical' }), routes, 'C0DEFAULT');
    expect(crit).toMatchObject({ channels: ['C0SOCCRIT'], mention: '<!subteam^S0ONCALL>', rule: 0 });
    const bounty = routeAlert(
      alert({ source: { category: 'trigger', name: 'hackerone', triggerType: null } }),
      routes,
      'C0DEFAULT',
    );
    expect(bounty).toMatchObject({ channels: ['C0APPSEC'], stormThreshold: 50, rule: 1 });
    expect(routeAlert(alert({ severity: 'low' }), routes, 'C0DEFAULT')).toMatchObject({
      channels: ['C0DEFAULT'],
      rule: null,
    });
    expect(allChannels(routes, 'C0DEFAULT')).toEqual(['C0DEFAULT', 'C0SOCCRIT', 'C0APPSEC']);
  });

  it('the first matching rule wins; detection by name or id, status, severity lists', () => {
    const routes = ok(
      JSON.stringify({
        routes: [
          { match: { detection: ['impossible travel'], status: 'escalated' }, channels: 'C0A' },
          { match: { severity: ['high', 'medium'] }, channels: ['C0B', 'C0C'] },
        ],
      }),
      'routes.json',
    );
    expect(routeAlert(alert({ status: 'escalated' }), routes, 'C0D').channels).toEqual(['C0A']);
    expect(routeAlert(alert({ status: 'open' }), routes, 'C0D').channels).toEqual(['C0B', 'C0C']);
  });

  it.each([
    ['- channels: general', 'rule 1 (general) field channels: '],
    ['- match: { severity: { min: urgent } }\n  channels: C0A', 'rule 1 (C0A) field match.severity: '],
    ['- channels: C0A\n- channels: C0B\n  mention: "@here"', 'rule 2 (C0B) field mention: '],
    ['- channels: C0A\n  colour: red', 'rule 1 (C0A): '],
    ['- channels: C0A\n  storm_threshold: 0', 'rule 1 (C0A) field storm_threshold: '],
    ['- mention: here', 'rule 1 field channels: '],
    ['routes: 3', 'the top level'],
  ])('an error names the rule (counted from 1, with its channels) and the field: %s', (src, where) => {
    expect(problem(src)).toContain(where);
  });

  it('an error names the rule by its name too, in either form of the file', () => {
    const yaml = [
      '- name: critical to the SOC',
      '  channels: C0SOC',
      '- name: bug bounties',
      '  channels: [C0APPSEC, C0BOUNTY]',
      '  storm_threshold: -1',
    ].join('\n');
    expect(problem(yaml)).toMatch(/^rule 2 \("bug bounties", C0APPSEC, C0BOUNTY\) field storm_threshold: /);
    const json = JSON.stringify({
      routes: [{ channels: 'C0A' }, { name: 'x'.repeat(60), channels: 'C0B', colour: 1 }],
    });
    expect(problem(json, 'routes.json')).toMatch(new RegExp(`^rule 2 \\("${'x'.repeat(39)}…", C0B\\): `));
  });

  it('a file that does not parse, or cannot be read, is one clear line naming COTOOL_SLACK_ROUTES', () => {
    expect(problem('- [unclosed', 'r.yaml')).toMatch(/^cannot parse r\.yaml/);
    const dir = mkdtempSync(join(tmpdir(), 'routes-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, '- channels: nope\n');
    const env = {
      COTOOL_API_URL: 'https://app.cotool.ai',
      COTOOL_API_KEY: 'test-cotool-key-0123456789',
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_APP_TOKEN: 'xapp-1',
      SLACK_ALERT_CHANNEL: 'C0ALERTS',
    };
    const r = loadConfig({ ...env, COTOOL_SLACK_ROUTES: bad });
    expect(r).toMatchObject({ ok: false });
    if (!r.ok)
      expect(r.problems).toEqual([
        expect.stringMatching(/^COTOOL_SLACK_ROUTES is invalid: rule 1 \(nope\) field channels: /),
      ]);
    const missing = loadConfig({ ...env, COTOOL_SLACK_ROUTES: join(dir, 'none.yaml') });
    if (!missing.ok)
      expect(missing.problems[0]).toMatch(/^COTOOL_SLACK_ROUTES is invalid: cannot read .*none\.yaml \(ENOENT\)/);
    else throw new Error('expected a problem');
    writeFileSync(join(dir, 'good.yaml'), EXAMPLE);
    const good = loadConfig({ ...env, COTOOL_SLACK_ROUTES: join(dir, 'good.yaml') });
    expect(good.ok && good.config.channels).toEqual(['C0ALERTS', 'C0SOCCRIT', 'C0APPSEC']);
  });

  it('next moves per route: ask_user, remind_after_minutes, oncall (default: mention), mute_break_through', () => {
    const routes = ok(`
- match: { detection: impossible travel }
  channels: C0IDENT
  mention: S0IDENT
  ask_user: true
  remind_after_minutes: 5
  mute_break_through: { critical: false }
- match: { severity: high }
  channels: C0HIGH
  oncall: [U0ALICE, S0SOC]
  remind_after_minutes: 0
`);
    const ident = routeAlert(
      alert({ detection: { id: null, agentId: null, name: 'Impossible travel', kind: null } }),
      routes,
      'C0D',
    );
    expect(ident).toMatchObject({
      askUser: true,
      remindAfterMs: 5 * 60_000,
      oncall: ['S0IDENT'],
      breakThrough: { escalated: true, critical: false },
    });
    const high = routeAlert(alert({ severity: 'high', detection: null }), routes, 'C0D');
    expect(high).toMatchObject({ askUser: false, remindAfterMs: 0, oncall: ['U0ALICE', 'S0SOC'] });
    expect(routeAlert(alert({ severity: 'low', detection: null }), routes, 'C0D')).toMatchObject({
      askUser: false,
      remindAfterMs: null,
      oncall: null,
      breakThrough: { escalated: true, critical: true },
    });
    expect(problem('- { channels: C0A, oncall: "<!channel>" }')).toMatch(/oncall/);
    expect(problem('- { channels: C0A, remind_after_minutes: -1 }')).toMatch(/remind_after_minutes/);
    expect(problem('- { channels: C0A, ask_user: "yes" }')).toMatch(/ask_user/);
  });

  it('card keys: the alert id for the first channel, a mirror key for each further one', () => {
    const id = 'odd#id with spaces';
    expect(cardKey(id, 'C0A', true)).toBe(id);
    expect(alertIdOfKey(cardKey(id, 'C0B', false))).toBe(id);
    expect(alertIdOfKey(id)).toBe(id);
  });
});
