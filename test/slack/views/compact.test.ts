import { describe, expect, it } from 'vitest';
import { ALERT_STATUSES } from '../../../src/core/alert.ts';
import { renderHelp } from '../../../src/slack/views/help.ts';
import { linkToken, renderCompactCard } from '../../../src/slack/views/unfurl.ts';
import { alert } from '../../support/alerts.ts';
import { assertSafeView, HOSTILE } from '../hostile.ts';
import { hostileAlert, ID, URL_IN_COTOOL } from './fixtures.ts';

const json = (v: unknown) => JSON.stringify(v);
const WHO = 'members of <#C0ALERTS> (guests excluded)';

describe('renderCompactCard (unfurls, expanded ids)', () => {
  const a = alert({ id: ID, displayId: 'COT-123', title: 'Token replay', severity: 'critical', status: 'escalated' });

  it('snapshot', () => {
    expect(renderCompactCard(a, { alertUrl: URL_IN_COTOOL })).toMatchSnapshot();
  });

  it('is one line naming the alert and one of facts, with no buttons', () => {
    const view = renderCompactCard(a);
    expect(view.blocks).toHaveLength(2);
    expect(json(view.blocks[0])).toContain(':red_circle: *COT-123* Token replay');
    expect(json(view.blocks[1])).toContain('Escalated · Critical · Agent: Aria · created <!date^');
    expect(json(view)).not.toMatch(/"type":"(button|actions|overflow)"/);
    expect(json(view)).not.toContain('Open in Cotool');
    expect(view.text).toBe('COT-123: Token replay (Escalated)');
  });

  it('links to Cotool only through a URL that is safe to write as a token', () => {
    expect(json(renderCompactCard(a, { alertUrl: URL_IN_COTOOL }))).toContain(`<${URL_IN_COTOOL}|Open in Cotool>`);
    expect(linkToken('https://app.cotool.ai/a|b', 'x')).toBeNull();
    expect(linkToken('javascript:alert(1)', 'x')).toBeNull();
    expect(linkToken(null, 'x')).toBeNull();
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile corpus #%i', (_, h) => {
    for (const status of [...ALERT_STATUSES, h]) {
      const link = linkToken(h, 'Open in Cotool');
      assertSafeView(renderCompactCard(hostileAlert(h, status), { alertUrl: h }), {
        alertId: ID,
        allowed: link ? [link] : [],
      });
      assertSafeView(renderCompactCard(hostileAlert(h, status)), { alertId: ID });
    }
  });
});

describe('renderHelp', () => {
  it('snapshot', () => {
    expect(renderHelp({ who: WHO })).toMatchSnapshot();
  });

  it('lists every command with an example and who may use it; a problem comes first', () => {
    const help = json(renderHelp({ who: WHO }));
    for (const example of [
      '/cotool COT-123',
      '/cotool run &lt;run id&gt;',
      '/cotool list escalated critical',
      '/cotool search okta push',
      '/cotool help',
    ]) {
      expect(help).toContain(example);
    }
    expect(help).toContain(`Who can look alerts up: ${WHO}`);
    const bad = renderHelp({ who: WHO, problem: '`bogus` is not a filter.' });
    expect(json(bad.blocks[0])).toContain(':warning: `bogus` is not a filter.');
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile problem text #%i is escaped', (_, h) => {
    assertSafeView(renderHelp({ who: WHO, problem: h }), { alertId: ID, allowed: ['<#C0ALERTS>'] });
  });
});
