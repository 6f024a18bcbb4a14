import { describe, expect, it } from 'vitest';
import { ALERT_STATUSES, type Alert } from '../../src/cotool/schemas.ts';
import { ACTIONS } from '../../src/slack/ids.ts';
import { decodeAction } from '../../src/slack/payloads.ts';
import { LIMITS, safeUrl } from '../../src/slack/text.ts';
import {
  alertFingerprint,
  type CardContext,
  type CardView,
  cardFingerprint,
  renderAlertCard,
  renderEscalationReply,
  renderStatusReply,
} from '../../src/slack/views/alert-card.ts';
import { alert } from '../support/alerts.ts';
import { assertSafeView, HOSTILE, LONG_DESCRIPTION, LONG_TITLE } from './hostile.ts';

const ID = '8f14e45f-ceea-467a-9c1a-6c1f8b3d2e5a';
const ANA = { id: 'U0ANA', name: 'Ana Analyst' };
const URL_IN_COTOOL = 'https://app.cotool.ai/acme/alerts/COT-123';

const base = (overrides: Partial<Alert> = {}): Alert =>
  alert({
    id: ID,
    displayId: 'COT-123',
    title: 'Suspicious login from new country',
    description:
      'Sign-in for *alice@acme.com* from 203.0.113.7 (NL), 40 min after one from the US.\nMFA: push approved.',
    createdAt: '2026-11-23T10:00:00.000Z',
    updatedAt: '2026-11-23T10:05:00.000Z',
    externalProvider: 'jira',
    externalRef: 'SEC-42',
    externalUrl: 'https://acme.atlassian.net/browse/SEC-42',
    ...overrides,
  });
const ctx = (overrides: Partial<CardContext> = {}): CardContext => ({
  alertUrl: URL_IN_COTOOL,
  interactive: true,
  ...overrides,
});

/** All elements of all actions blocks. */
const elements = (view: CardView) =>
  view.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : [])) as Array<{
    type: string;
    action_id?: string;
    options?: Array<{ value: string }>;
  }>;
const actionIds = (view: CardView) => elements(view).map((e) => e.action_id);
const overflowOps = (view: CardView) =>
  (elements(view).find((e) => e.action_id === ACTIONS.more)?.options ?? []).map((o) => {
    const d = decodeAction(o.value);
    return d.ok ? d.value.op : d.reason;
  });

describe('renderAlertCard snapshots', () => {
  it('open high alert', () => {
    expect(renderAlertCard(base(), ctx())).toMatchSnapshot();
  });

  it('escalated, with who and why', () => {
    const view = renderAlertCard(
      base({ status: 'escalated', severity: 'critical' }),
      ctx({
        escalation: { by: 'Triage Agent', reason: 'Token replay from a TOR exit node.', at: '2026-11-23T10:04:00Z' },
      }),
    );
    expect(view).toMatchSnapshot();
  });

  it('closed as false positive from Slack', () => {
    const view = renderAlertCard(
      base({ status: 'closed_false_positive', resolvedAt: '2026-11-23T10:05:00Z' }),
      ctx({ lastAction: { by: ANA, kind: 'status', status: 'closed_false_positive', at: '2026-11-23T10:05:00Z' } }),
    );
    expect(view).toMatchSnapshot();
  });

  it('minimal alert with nulls', () => {
    const minimal = base({
      description: null,
      severity: null,
      source: null,
      detection: null,
      assignedAgentName: null,
      organizationName: null,
      externalProvider: null,
      externalRef: null,
      externalUrl: null,
    });
    expect(renderAlertCard(minimal, ctx({ alertUrl: null, interactive: false }))).toMatchSnapshot();
  });

  it('unknown status and severity from a newer server', () => {
    const view = renderAlertCard(
      base({ status: 'snoozed', severity: 'informational' }),
      ctx({ notice: 'Alert no longer exists in Cotool' }),
    );
    expect(view).toMatchSnapshot();
  });
});

describe('renderAlertCard behaviour', () => {
  it('offers buttons by status', () => {
    const open = renderAlertCard(base(), ctx());
    expect(actionIds(open)).toEqual([
      ACTIONS.take,
      ACTIONS.closeFp,
      ACTIONS.closeBenign,
      ACTIONS.closeTp,
      ACTIONS.escalate,
      ACTIONS.more,
      ACTIONS.askUser,
      ACTIONS.mute,
      ACTIONS.warRoom,
      ACTIONS.openLink,
      ACTIONS.externalLink,
      ACTIONS.addNote,
    ]);
    expect(overflowOps(open)).toEqual(['in_progress', 'close_reason', 'edit']);

    const inProgress = renderAlertCard(base({ status: 'in_progress' }), ctx());
    expect(overflowOps(inProgress)).toEqual(['close_reason', 'edit']);
    expect(actionIds(inProgress)).not.toContain(ACTIONS.take);
    expect(actionIds(inProgress)).toContain(ACTIONS.warRoom);

    const escalated = renderAlertCard(base({ status: 'escalated' }), ctx());
    expect(actionIds(escalated)).not.toContain(ACTIONS.escalate);
    expect(actionIds(escalated)).toContain(ACTIONS.closeTp);
    expect(actionIds(escalated)).toContain(ACTIONS.take);

    for (const status of ['closed_true_positive', 'closed_false_positive', 'closed_true_positive_benign']) {
      const closed = renderAlertCard(base({ status }), ctx());
      expect(actionIds(closed)).toEqual([
        ACTIONS.reopen,
        ACTIONS.mute,
        ACTIONS.openLink,
        ACTIONS.externalLink,
        ACTIONS.addNote,
      ]);
    }

    expect(actionIds(renderAlertCard(base({ status: 'snoozed' }), ctx()))).toEqual([
      ACTIONS.mute,
      ACTIONS.openLink,
      ACTIONS.externalLink,
      ACTIONS.addNote,
    ]);
    expect(actionIds(renderAlertCard(base(), ctx({ interactive: false })))).toEqual([
      ACTIONS.openLink,
      ACTIONS.externalLink,
    ]);
  });

  it('carries op, alert id and updatedAt in every value', () => {
    const view = renderAlertCard(base(), ctx());
    const values = elements(view).flatMap((e) => [
      ...('value' in e && typeof e.value === 'string' ? [e.value] : []),
      ...(e.options ?? []).map((o) => o.value),
    ]);
    expect(values).toHaveLength(12);
    for (const v of values) {
      const d = decodeAction(v);
      expect(d.ok && { id: d.value.id, u: d.value.u }).toEqual({ id: ID, u: '2026-11-23T10:05:00.000Z' });
    }
    const opOf = (actionId: string) => {
      const el = elements(view).find((e) => e.action_id === actionId) as { value?: string } | undefined;
      const d = decodeAction(el?.value);
      return d.ok ? d.value.op : d.reason;
    };
    expect([ACTIONS.take, ACTIONS.askUser, ACTIONS.mute, ACTIONS.warRoom].map(opOf)).toEqual([
      'take',
      'ask_user',
      'mute',
      'war_room',
    ]);
  });

  it('the next moves: no mute without a detection; nothing to ask or open once closed', () => {
    const noDetection = renderAlertCard(base({ detection: null }), ctx());
    expect(actionIds(noDetection)).not.toContain(ACTIONS.mute);
    expect(actionIds(noDetection)).toContain(ACTIONS.askUser);
    const byId = renderAlertCard(base({ detection: { id: 'd1', agentId: null, name: null, kind: null } }), ctx());
    expect(actionIds(byId)).toContain(ACTIONS.mute);
    const closed = renderAlertCard(base({ status: 'closed_false_positive', detection: null }), ctx());
    expect(closed.blocks.some((b) => b.block_id === 'alert.card.moves')).toBe(false);
  });

  it('shows the owner and drops "I\'ll take it" once someone took the alert', () => {
    const owned = renderAlertCard(base(), ctx({ owner: ANA }));
    expect(actionIds(owned)).not.toContain(ACTIONS.take);
    expect(JSON.stringify(owned)).toContain('*Owner*\\n<@U0ANA>');
    expect(JSON.stringify(owned)).not.toContain('nobody has taken it');
    assertSafeView(owned, { alertId: ID, allowed: ['<@U0ANA>'] });
    // An id that is not a Slack user id is never put into a mention.
    const odd = renderAlertCard(base(), ctx({ owner: { id: '<!channel>', name: 'Ana <!here>' } }));
    expect(JSON.stringify(odd)).toContain('*Owner*\\n*Ana &lt;!here&gt;*');
    assertSafeView(odd, { alertId: ID });
  });

  it('says how long an open alert has waited, as a date token that stays true between redraws', () => {
    const now = Date.parse('2026-11-23T10:23:30.000Z');
    const view = renderAlertCard(base(), ctx({ now }));
    const epoch = Date.parse('2026-11-23T10:00:00.000Z') / 1000;
    expect(JSON.stringify(view)).toContain(
      `:hourglass_flowing_sand: <!date^${epoch}^opened {ago}|open 23 min> · nobody has taken it yet`,
    );
    expect(JSON.stringify(renderAlertCard(base(), ctx()))).toContain(`|open since 2026-11-23 10:00 UTC>`);
    expect(JSON.stringify(renderAlertCard(base({ status: 'in_progress' }), ctx({ now })))).not.toContain('{ago}');
    expect(JSON.stringify(renderAlertCard(base({ status: 'escalated' }), ctx({ now })))).toContain('{ago}');
    expect(JSON.stringify(renderAlertCard(base({ status: 'closed_true_positive' }), ctx({ now })))).not.toContain(
      '{ago}',
    );
  });

  it('the fingerprint follows the owner, never the clock', () => {
    const a = base();
    expect(alertFingerprint(a, null)).toBe(alertFingerprint(a, null, { owner: null }));
    expect(alertFingerprint(a, null, { owner: ANA })).not.toBe(alertFingerprint(a, null));
    expect(alertFingerprint(a, null, { owner: ANA })).not.toBe(
      alertFingerprint(a, null, { owner: { id: 'U0BO', name: 'Bo' } }),
    );
  });

  it('asks for confirmation naming the alert and the disposition before closing', () => {
    const view = renderAlertCard(base(), ctx());
    const tp = elements(view).find((e) => e.action_id === ACTIONS.closeTp) as unknown as {
      style: string;
      confirm: { title: { text: string }; text: { text: string }; style: string };
    };
    expect(tp.style).toBe('danger');
    expect(tp.confirm.title.text).toBe('Close as true positive?');
    expect(tp.confirm.text.text).toContain('COT-123: Suspicious login from new country');
    expect(tp.confirm.style).toBe('danger');
  });

  it('with CLOSE_REASON_REQUIRED the close buttons open the form directly (no confirm dialog first)', () => {
    const view = renderAlertCard(base(), { ...ctx(), closeOpensForm: true });
    const closers = elements(view).filter((e) => String(e.action_id).startsWith('alert.close_'));
    expect(closers).toHaveLength(3);
    for (const c of closers) expect(c).not.toHaveProperty('confirm');
  });

  it('makes closed cards look closed', () => {
    const resolved = base({ status: 'closed_true_positive_benign', resolvedAt: '2026-11-23T11:00:00Z' });
    const json = JSON.stringify(renderAlertCard(resolved, ctx()));
    expect(json).toContain(':white_check_mark: *Closed as benign* · <!date^1795431600^');
    expect(json).not.toContain(':large_orange_circle:');
  });

  it('shows the escalation from the last action when no escalation context is given', () => {
    const view = renderAlertCard(
      base({ status: 'escalated' }),
      ctx({ lastAction: { by: ANA, kind: 'status', status: 'escalated', at: '2026-11-23T10:05:00Z' } }),
    );
    expect(JSON.stringify(view)).toContain(':rotating_light: *Escalated* by Ana Analyst · <!date^');
  });

  it('keeps the fallback text short and plain', () => {
    expect(renderAlertCard(base({ status: 'escalated' }), ctx()).text).toBe(
      '[HIGH] COT-123: Suspicious login from new country (Escalated)',
    );
    expect(renderAlertCard(base({ severity: null, title: '' }), ctx()).text).toBe('COT-123: Untitled alert (Open)');
  });

  it('renders without buttons rather than fail when the alert id cannot travel in a payload', () => {
    const view = renderAlertCard(base({ id: 'x'.repeat(65) }), ctx());
    expect(actionIds(view)).toEqual([ACTIONS.openLink, ACTIONS.externalLink]);
    expect(JSON.stringify(view)).toContain('Buttons are unavailable');
  });

  it('fingerprints what is visible', () => {
    const a = renderAlertCard(base(), ctx());
    expect(cardFingerprint(a)).toBe(cardFingerprint(renderAlertCard(base(), ctx())));
    expect(cardFingerprint(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(cardFingerprint(a)).not.toBe(cardFingerprint(renderAlertCard(base({ title: 'Changed' }), ctx())));
  });
});

describe('thread replies', () => {
  it('announces an escalation with the configured mention', () => {
    const view = renderEscalationReply(base({ status: 'escalated' }), {
      by: 'Triage Agent',
      reason: 'Token replay',
      mention: '<!subteam^S0SEC|sec-oncall>',
    });
    expect(view).toMatchSnapshot();
    assertSafeView(view, { alertId: ID, allowed: ['<!subteam^S0SEC|sec-oncall>'] });
  });

  it('shows a mention that is not a mention token as text', () => {
    const view = renderEscalationReply(base(), { by: null, reason: null, mention: '<!channel> and <@U1|x> @here' });
    assertSafeView(view, { alertId: ID });
  });

  it('names the Slack user who changed the status', () => {
    const view = renderStatusReply(base(), {
      by: ANA,
      from: 'slack',
      status: 'closed_false_positive',
      reason: 'Known VPN egress.',
    });
    expect(view.text).toBe('<@U0ANA> closed COT-123 as false positive: Known VPN egress.');
    expect(view).toMatchSnapshot();
    assertSafeView(view, { alertId: ID, allowed: ['<@U0ANA>'] });
  });

  it('names a Cotool actor without mentioning anyone', () => {
    const view = renderStatusReply(base(), {
      by: { id: 'U0ANA', name: 'Bo' },
      from: 'cotool',
      status: 'in_progress',
      reason: null,
    });
    expect(view.text).toBe('*Bo* marked COT-123 in progress in Cotool');
  });
});

// ---------------------------------------------------------------------------------------------
// Invariants over the hostile corpus

const STATUSES = [...ALERT_STATUSES, 'snoozed'];
const CONFIGURED_MENTION = /^<(?:@[UW][A-Z0-9]+|!subteam\^[A-Z0-9]+(?:\|[a-z-]+)?|!here|!channel)>$/;

function hostileAlert(h: string, status: string): Alert {
  return base({
    status,
    displayId: h || 'COT-1',
    title: h,
    description: h,
    severity: h || null,
    organizationName: h,
    assignedAgentName: h,
    externalProvider: h,
    externalRef: h,
    externalUrl: h,
    source: { category: h, name: h, triggerType: h },
    detection: { id: null, agentId: null, name: h, kind: h },
    resolvedAt: h,
  });
}

function hostileCtx(h: string, interactive: boolean, status: string): CardContext {
  return {
    alertUrl: h,
    interactive,
    lastAction: { by: { id: h, name: h }, kind: 'status', status, at: h },
    escalation: { by: h, reason: h, at: h },
    notice: h,
    owner: { id: h, name: h },
    now: Date.parse('2026-11-23T10:23:00.000Z'),
  };
}

describe('hostile corpus', () => {
  it.each(HOSTILE.map((h, i) => [i, h] as const))('alert card #%i is safe in every status', (_, h) => {
    for (const status of [...STATUSES, h]) {
      for (const interactive of [true, false]) {
        const view = renderAlertCard(hostileAlert(h, status), hostileCtx(h, interactive, status));
        assertSafeView(view, { alertId: ID });
        expect(view.text).not.toContain('\n'); // the notification line stays one line
        assertSafeView(renderAlertCard(hostileAlert(h, status), ctx({ interactive, lastAction: null })), {
          alertId: ID,
        });
      }
    }
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('thread replies #%i are safe', (_, h) => {
    const a = hostileAlert(h, 'escalated');
    assertSafeView(renderEscalationReply(a, { by: h, reason: h, mention: null }), { alertId: ID });
    assertSafeView(renderEscalationReply(a, { by: h, reason: h, mention: '<@U0LEAD>' }), {
      alertId: ID,
      allowed: ['<@U0LEAD>'],
    });
    // The mention is configuration (trusted): a well-formed mention token passes, anything else is shown as text.
    const configured = CONFIGURED_MENTION.test(h) ? [h] : [];
    assertSafeView(renderEscalationReply(a, { by: h, reason: h, mention: h }), { alertId: ID, allowed: configured });
    for (const status of [...STATUSES, h]) {
      for (const from of ['slack', 'cotool'] as const) {
        assertSafeView(renderStatusReply(a, { by: { id: h, name: h }, from, status, reason: h }), { alertId: ID });
        assertSafeView(renderStatusReply(a, { by: { id: 'U0ANA', name: h }, from, status, reason: h }), {
          alertId: ID,
          allowed: ['<@U0ANA>'],
        });
      }
    }
  });

  it('links only to well-formed http(s) URLs, labelled so they cannot pass for ours', () => {
    for (const h of HOSTILE) {
      const view = renderAlertCard(hostileAlert(h, 'open'), hostileCtx(h, true, 'open'));
      const urls = elements(view).flatMap((e) => ('url' in e ? [e.url] : []));
      const expected = safeUrl(h);
      expect(urls).toEqual(expected ? [expected, expected] : []);
    }
    const spoof = renderAlertCard(
      base({ externalProvider: 'zendesk', externalRef: 'Open in Cotool', externalUrl: 'https://evil.example/x' }),
      ctx(),
    );
    expect(JSON.stringify(spoof)).toContain('"text":"evil.example · Open in Cotool"');
  });

  const externalButton = (view: CardView) =>
    elements(view).find((e) => e.action_id === ACTIONS.externalLink) as unknown as
      | { text: { text: string }; url: string }
      | undefined;
  const externalText = (overrides: Partial<Alert>) =>
    externalButton(renderAlertCard(base(overrides), ctx()))?.text.text;

  it.each(['webhook', 'email', 'slack', 'jira', 'hackerone'])(
    'the external link from a %s source names the host it goes to, whatever the ref says',
    (provider) => {
      const text = externalText({
        externalProvider: provider,
        externalRef: 'Okta — verify your account',
        externalUrl: 'https://evil.example/login',
      });
      expect(text).toMatch(/^\S+ · evil\.example · Okta — verify your account$/);
    },
  );

  it('the external link label: known provider, then host, then ref; unknown provider: host first', () => {
    expect(externalText({})).toBe('Jira · acme.atlassian.net · SEC-42');
    expect(externalText({ externalRef: null })).toBe('Jira · acme.atlassian.net');
    expect(
      externalText({ externalProvider: 'zendesk', externalRef: 'SEC-1', externalUrl: 'https://evil.example/x' }),
    ).toBe('evil.example · SEC-1');
    expect(externalText({ externalProvider: null, externalRef: null, externalUrl: 'https://evil.example/x' })).toBe(
      'evil.example',
    );
  });

  it('the external link label fits the button and never loses the host: only the ref is cut', () => {
    const longRef = `Okta — verify your account ${'x'.repeat(200)}`;
    const cut = externalText({
      externalProvider: 'webhook',
      externalRef: longRef,
      externalUrl: 'https://evil.example/',
    });
    expect(cut?.length).toBeLessThanOrEqual(LIMITS.buttonText);
    expect(cut).toMatch(/^Webhook · evil\.example · Okta — verify your account x+…$/);

    // A host that leaves no room for the provider or a useful ref is shown alone, whole.
    const host = `${'a'.repeat(60)}.evil.example`;
    const alone = externalText({ externalProvider: 'webhook', externalRef: 'Okta', externalUrl: `https://${host}/` });
    expect(alone).toBe(host);

    // A host longer than the button keeps its right-hand labels: who owns it.
    const huge = `okta.com.${'login.'.repeat(20)}evil.example`;
    const tail = externalText({ externalProvider: 'slack', externalRef: 'Okta', externalUrl: `https://${huge}/` });
    expect(tail?.length).toBeLessThanOrEqual(LIMITS.buttonText);
    expect(tail).toMatch(/^….*\.evil\.example$/);
    expect(tail).not.toContain('okta.com');
  });

  it('fits a 50,000-char description and a 10,000-char title', () => {
    const big = base({ title: LONG_TITLE, description: LONG_DESCRIPTION, status: 'escalated' });
    const view = renderAlertCard(big, ctx({ escalation: { by: LONG_TITLE, reason: LONG_DESCRIPTION, at: 'x' } }));
    assertSafeView(view, { alertId: ID });
    expect(JSON.stringify(view).length).toBeLessThan(12_000);
    assertSafeView(renderEscalationReply(big, { by: LONG_TITLE, reason: LONG_DESCRIPTION, mention: null }), {
      alertId: ID,
    });
    assertSafeView(
      renderStatusReply(big, {
        by: { id: 'U0ANA', name: LONG_TITLE },
        from: 'slack',
        status: 'closed_true_positive',
        reason: LONG_DESCRIPTION,
      }),
      { alertId: ID, allowed: ['<@U0ANA>'] },
    );
  });

  it('catches what it is meant to catch', () => {
    const bad = (text: string) => ({ text: 'ok', blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
    for (const text of [
      '<!channel>',
      'a <@U1> b',
      '<https://x|y>',
      'a > b',
      'a & b',
      '@here',
      'x\u0007',
      'x'.repeat(3_001),
    ]) {
      expect(() => assertSafeView(bad(text), { alertId: ID }), text).toThrow();
    }
    expect(() => assertSafeView(bad('>quote &amp; &lt;x&gt;'), { alertId: ID })).not.toThrow();
  });
});
