import { describe, expect, it } from 'vitest';
import { type BulkTally, digestOf, ESCALATED_GROUP, MAX_GROUPS_SHOWN } from '../../../src/notify/digest.ts';
import type { StormAlertsPage } from '../../../src/service/storm-alerts.ts';
import { decodeDigestButton } from '../../../src/slack/digest-payloads.ts';
import { ACTIONS, DIGEST_ACTIONS } from '../../../src/slack/ids.ts';
import { decodeView } from '../../../src/slack/lookup-payloads.ts';
import { decodeDigestMute } from '../../../src/slack/payloads.ts';
import { LIMITS } from '../../../src/slack/text.ts';
import {
  blocksTextLength,
  ID_LIST_BUDGET,
  idListFits,
  renderDigest,
  renderIdList,
  TEXT_BUDGET,
} from '../../../src/slack/views/digest.ts';
import { renderStormAlerts } from '../../../src/slack/views/digest-alerts.ts';
import type { Storm, StormMember } from '../../../src/store/store.ts';
import { validateBlocks } from '../../e2e/fakes/slack.ts';
import { assertSafeView, HOSTILE } from '../hostile.ts';

/** What Slack refuses in practice: more than ~13,200 characters of text in a message's blocks. */
const SLACK_BLOCKS_TEXT_MAX = 13_000;
const NOW = Date.parse('2026-11-23T10:15:00.000Z');

const storm = (over: Partial<Storm> = {}): Storm => ({
  id: 'storm-C0ALERTS-1795000000',
  channel: 'C0ALERTS',
  startedAt: Date.parse('2026-11-23T10:02:00.000Z'),
  lastAddedAt: Date.parse('2026-11-23T10:14:00.000Z'),
  endedAt: null,
  cardsUsed: 20,
  ts: '1795000000.000100',
  tally: null,
  ...over,
});

let seq = 1000;
function member(over: Partial<StormMember> = {}): StormMember {
  seq++;
  return {
    stormId: 'storm-C0ALERTS-1795000000',
    alertId: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    displayId: `COT-${seq}`,
    groupKey: 'det-1',
    groupName: 'Impossible travel',
    severity: 'high',
    status: 'open',
    title: `Sign-in from a new country ${seq}`,
    createdAt: new Date(Date.parse('2026-11-23T10:02:00Z') + (seq % 600) * 1000).toISOString(),
    updatedAt: '2026-11-23T10:02:00.000Z',
    ...over,
  };
}

/** A digest or list button value decodes; a View value is the look-up list's. */
function checkValue(path: string, value: unknown, max: number): void {
  if (typeof value !== 'string' || value.length > max) throw new Error(`${path}: bad value`);
  if (!decodeDigestButton(value).ok && !decodeView(value).ok && !decodeDigestMute(value).ok)
    throw new Error(`${path}: value does not decode: ${value}`);
}

/** Everything Slack checks, plus what it refuses in practice. */
function assertSendable(view: { text: string; blocks: unknown[] }): void {
  assertSafeView(view, { alertId: '', checkValue, actionIdScope: 'block' });
  expect(validateBlocks(view.blocks, 'message')).toEqual([]);
  expect(view.blocks.length).toBeLessThanOrEqual(LIMITS.messageBlocks);
  expect(blocksTextLength(view.blocks)).toBeLessThanOrEqual(SLACK_BLOCKS_TEXT_MAX);
  expect(JSON.stringify(view).length).toBeLessThan(40_000);
}

const render = (members: StormMember[], tallies = new Map<string, BulkTally>(), s = storm()) =>
  renderDigest(s, digestOf(members), tallies, { now: NOW });
const json = (v: unknown) => JSON.stringify(v);
const buttons = (view: { blocks: unknown[] }) =>
  (
    view.blocks as {
      elements?: { action_id?: string; value?: string }[];
      accessory?: { action_id?: string; value?: string };
    }[]
  )
    .flatMap((b) => [...(b.elements ?? []), ...(b.accessory ? [b.accessory] : [])])
    .filter((e) => typeof e.action_id === 'string');

describe('renderDigest', () => {
  it('shows the storm, each group with its counts, times, examples, ids and buttons', () => {
    const members = [
      ...Array.from({ length: 60 }, () => member()),
      member({ groupKey: ESCALATED_GROUP, groupName: 'Escalated', status: 'escalated', severity: 'critical' }),
      ...Array.from({ length: 3 }, () => member({ groupKey: 'det-2', groupName: 'Okta push spam', severity: 'low' })),
    ];
    const view = render(members);
    assertSendable(view);
    const text = json(view.blocks);
    expect(view.text).toMatch(/^⛈ Alert storm: 64 alerts since <!date\^\d+\^\{time\}\|[^>]+> in 3 groups$/);
    expect(text).toContain('⛈ Alert storm: 64 alerts');
    expect(text.indexOf('*Escalated*')).toBeLessThan(text.indexOf('Impossible travel'));
    expect(text.indexOf('Impossible travel')).toBeLessThan(text.indexOf('Okta push spam'));
    expect(text).toContain('*60 alerts* · 60 live');
    expect(text).toContain(':large_orange_circle: 60 high');
    expect(text).toContain('COT-1001–COT-1060');
    expect(text).toContain('e.g. Sign-in from a new country 1001 · Sign-in from a new country 1002');
    const clicks = buttons(view);
    expect(clicks.filter((b) => b.action_id === DIGEST_ACTIONS.showAlerts)).toHaveLength(3);
    expect(clicks.filter((b) => b.action_id === DIGEST_ACTIONS.closeAll)).toHaveLength(3);
    // Detection groups can be muted; the escalated group is no detection.
    const mutes = clicks.filter((b) => b.action_id === ACTIONS.digestMute).map((b) => decodeDigestMute(b.value));
    expect(mutes).toHaveLength(2);
    expect(mutes.every((d) => d.ok && d.value.s === 'storm-C0ALERTS-1795000000' && d.value.g !== ESCALATED_GROUP)).toBe(
      true,
    );
    const close = clicks.find((b) => b.action_id === DIGEST_ACTIONS.closeAll);
    expect(decodeDigestButton(close?.value)).toEqual({
      ok: true,
      value: { v: 1, k: 'close', s: 'storm-C0ALERTS-1795000000', g: ESCALATED_GROUP },
    });
  });

  it('says when the storm is over, and offers no close button on a group with nothing live', () => {
    const members = Array.from({ length: 5 }, () => member({ status: 'closed_false_positive' }));
    const view = render(members, new Map(), storm({ endedAt: Date.parse('2026-11-23T10:31:00.000Z') }));
    assertSendable(view);
    expect(json(view.blocks)).toContain('⛈ Storm over: 5 alerts');
    expect(json(view.blocks)).toContain('none live');
    expect(buttons(view).map((b) => b.action_id)).toEqual([DIGEST_ACTIONS.showAlerts, ACTIONS.digestMute]);
  });

  it('shows a running bulk close as progress, and a finished one as its tally with failed ids and why', () => {
    const a = Array.from({ length: 60 }, () => member());
    const b = Array.from({ length: 10 }, () => member({ groupKey: 'det-2', groupName: 'Other' }));
    const base = { by: { id: 'U0JANE', name: 'Jane <!channel> Doe' }, total: 60, startedAt: NOW - 60_000 };
    const running: BulkTally = {
      ...base,
      state: 'running',
      closed: 40,
      alreadyClosed: 3,
      changedSince: 1,
      failed: [{ alertId: 'x', displayId: 'COT-1', why: 'timeout' }],
      finishedAt: null,
    };
    const done: BulkTally = {
      ...base,
      total: 10,
      state: 'done',
      closed: 5,
      alreadyClosed: 2,
      changedSince: 1,
      failed: [
        { alertId: 'x', displayId: 'COT-1062', why: 'the API key lacks alert.triage (403)' },
        { alertId: 'y', displayId: 'COT-1063', why: 'the API key lacks alert.triage (403)' },
        { alertId: 'z', displayId: 'COT-1064', why: '<!here> Cotool did not answer (timeout)' },
      ],
      finishedAt: NOW,
    };
    const view = render(
      [...a, ...b],
      new Map([
        ['det-1', running],
        ['det-2', done],
      ]),
    );
    assertSendable(view);
    const text = json(view.blocks);
    expect(text).toContain('Closing as false positive… *45/60*');
    expect(text).toContain('*Closed 5* · already closed 2 · changed since 1 · failed 3');
    expect(text).toContain(
      'Failed: COT-1062, COT-1063 (the API key lacks alert.triage (403)); COT-1064 (&lt;!here&gt;',
    );
    // A group being (or already) closed in bulk offers no second close.
    expect(buttons(view).filter((x) => x.action_id === DIGEST_ACTIONS.closeAll)).toHaveLength(0);
  });

  it('summarises the groups beyond the first ones in one line, with Show alerts for all of them', () => {
    const members = Array.from({ length: MAX_GROUPS_SHOWN + 7 }, (_, i) =>
      Array.from({ length: 30 - i }, () => member({ groupKey: `det-${i}`, groupName: `Detection ${i}` })),
    ).flat();
    const view = render(members);
    assertSendable(view);
    const text = json(view.blocks);
    const otherCount = Array.from({ length: 7 }, (_, i) => 30 - MAX_GROUPS_SHOWN - i).reduce((s, x) => s + x, 0);
    expect(text).toContain(`*+7 more detections: ${otherCount} alerts*`);
    const all = buttons(view).filter((b) => {
      const d = decodeDigestButton(b.value);
      return d.ok && d.value.k === 'show' && d.value.g === undefined;
    });
    expect(all).toHaveLength(1);
  });

  it('stays within every limit with hostile titles and detection names', () => {
    for (const hostile of HOSTILE) {
      const members = [
        ...Array.from({ length: 4 }, (_, i) => member({ title: hostile, groupName: hostile, groupKey: `h${i % 2}` })),
        member({ title: hostile, groupKey: ESCALATED_GROUP, groupName: hostile, status: 'escalated' }),
        member({ displayId: hostile || 'x', title: hostile }),
      ];
      const tallies = new Map<string, BulkTally>([
        [
          'h0',
          {
            state: 'done',
            by: { id: 'U0JANE', name: hostile },
            total: 2,
            closed: 0,
            alreadyClosed: 0,
            changedSince: 0,
            failed: [{ alertId: 'x', displayId: hostile || 'x', why: hostile }],
            startedAt: NOW,
            finishedAt: NOW,
          },
        ],
      ]);
      const view = render(members, tallies);
      try {
        assertSendable(view);
      } catch (err) {
        throw new Error(`hostile ${JSON.stringify(hostile.slice(0, 40))}: ${String(err)}`);
      }
    }
  });

  it('stays within the limits with many groups of long hostile names (fewer details, ids still reachable)', () => {
    const long = HOSTILE.filter((h) => h.length > 1000);
    const members = Array.from({ length: 40 }, (_, i) =>
      Array.from({ length: 100 }, (_, j) =>
        member({
          displayId: `COT-${(i * 100 + j) * 3}`,
          groupKey: `g${i}`,
          groupName: long[i % long.length] ?? 'x',
          title: long[(i + 1) % long.length] ?? 'y',
        }),
      ),
    ).flat();
    const view = render(members);
    assertSendable(view);
    expect(json(view.blocks)).toContain('more — *Show alerts*');
  });

  it('a 10,000-alert storm of one detection lists every id in one range', () => {
    const members = Array.from({ length: 10_000 }, () => member({ groupKey: 'big', groupName: 'Big' }));
    const view = render(members);
    assertSendable(view);
    const first = members[0]?.displayId;
    const last = members.at(-1)?.displayId;
    expect(json(view.blocks)).toContain(`${first}–${last}`);
    expect(json(view.blocks)).not.toContain('more — *Show alerts*');
  });

  it('a 10,000-alert storm with scattered ids over 20 detections shows as many ids as fit, then "+N more"', () => {
    const members = Array.from({ length: 10_000 }, (_, i) =>
      member({ displayId: `COT-${100_000 + i * 7}`, groupKey: `det-${i % 20}`, groupName: `Detection ${i % 20}` }),
    );
    const view = render(members);
    assertSendable(view);
    const text = json(view.blocks);
    const shownIds = (text.match(/COT-\d+/g) ?? []).length;
    const more = [...text.matchAll(/\+([\d,]+) more — \*Show alerts\*/g)].map((m) => Number(m[1]?.replace(/,/g, '')));
    expect(more).toHaveLength(MAX_GROUPS_SHOWN);
    // Every alert of a shown group is either listed or counted in its "+N more".
    const inShown = (10_000 / 20) * MAX_GROUPS_SHOWN;
    expect(shownIds + more.reduce((s, x) => s + x, 0)).toBe(inShown);
    expect(shownIds).toBeGreaterThan(500);
    expect(blocksTextLength(view.blocks)).toBeGreaterThan(TEXT_BUDGET * 0.8);
  });

  it('a group whose ids the store read only in part counts the rest in "+N more"', () => {
    const members = Array.from({ length: 5_000 }, (_, i) =>
      member({ displayId: `COT-${100_000 + i * 3}`, groupKey: 'big', groupName: 'Big' }),
    );
    const digest = digestOf(members, { groups: MAX_GROUPS_SHOWN, examples: 3, spans: 50 });
    const view = renderDigest(storm(), digest, new Map(), { now: NOW });
    assertSendable(view);
    const text = json(view.blocks);
    expect((text.match(/COT-\d+/g) ?? []).length).toBe(50);
    expect(text).toContain('+4,950 more — *Show alerts*');
  });
});

describe('renderIdList (every id of a storm, in the digest thread)', () => {
  const ids = (n: number, from = 1001) => Array.from({ length: n }, (_, i) => `COT-${from + i}`);

  it('lists each id as a code span, one by one, within the budget; 1,000 ids take one reply', () => {
    expect(idListFits(ids(1_000))).toBe(1_000);
    const fit = idListFits(ids(5_000, 10_000));
    expect(fit).toBeGreaterThan(800);
    expect(fit).toBeLessThan(1_000);
    const view = renderIdList(ids(fit, 10_000), 1_001);
    assertSendable(view);
    expect(blocksTextLength(view.blocks)).toBeLessThanOrEqual(ID_LIST_BUDGET);
    expect(view.text).toContain(`Alert ids in this storm, 1,001–${(1_000 + fit).toLocaleString('en-US')}`);
    const text = json(view.blocks);
    for (const id of ids(fit, 10_000)) expect(text).toContain(`\`${id}\``);
    expect(text).not.toContain('–COT-'); // no ranges: every id can be searched for
    expect((text.match(/`COT-\d+`/g) ?? []).length).toBe(fit);
  });

  it('always moves on (at least one id a reply), and is safe with hostile ids', () => {
    expect(idListFits(['x'.repeat(20_000)])).toBe(1);
    expect(idListFits([])).toBe(0);
    for (const hostile of HOSTILE) {
      const view = renderIdList([hostile || 'x', 'COT-1', `${hostile}\``], 1);
      assertSendable(view);
      expect(view.text).not.toMatch(/<!(channel|here|everyone)/);
    }
  });
});

describe('renderStormAlerts (Show alerts)', () => {
  const page = (over: Partial<StormAlertsPage> = {}): StormAlertsPage => ({
    ok: true,
    stormId: 'storm-1',
    groupKey: 'det-1',
    groupName: 'Impossible travel',
    escalated: false,
    page: 1,
    pages: 3,
    total: 25,
    live: 20,
    members: Array.from({ length: 10 }, () => member()),
    stormOver: false,
    ...over,
  });

  it('lists ten alerts with a View button each (the look-up list action) and Previous / Next', () => {
    const view = renderStormAlerts(page());
    assertSendable(view);
    const clicks = buttons(view);
    expect(clicks.filter((b) => b.action_id?.startsWith('lookup.view.'))).toHaveLength(10);
    const prev = clicks.find((b) => b.action_id === DIGEST_ACTIONS.pagePrev);
    const next = clicks.find((b) => b.action_id === DIGEST_ACTIONS.pageNext);
    expect(decodeDigestButton(prev?.value)).toMatchObject({ ok: true, value: { k: 'show', g: 'det-1', p: 0 } });
    expect(decodeDigestButton(next?.value)).toMatchObject({ ok: true, value: { k: 'show', g: 'det-1', p: 2 } });
    expect(json(view.blocks)).toContain('25 alerts · 20 live · showing 11–20');
  });

  it('is safe with hostile titles, ids and group names', () => {
    for (const hostile of HOSTILE) {
      const members = [member({ title: hostile }), member({ displayId: hostile || 'x' })];
      assertSendable(renderStormAlerts(page({ groupName: hostile, groupKey: null, members, page: 0, pages: 1 })));
    }
  });
});
