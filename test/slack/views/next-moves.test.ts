/**
 * The next moves' thread notes, mute views and refusals (issue 14): wording, mentions only from
 * validated ids, the hostile corpus in every field, valid Block Kit, values that round-trip.
 */
import type { ModalView } from '@slack/types';
import { describe, expect, it } from 'vitest';
import { MAX_MUTE_MS } from '../../../src/core/mutes.ts';
import { ACTIONS, BLOCKS, INPUTS, VIEWS } from '../../../src/slack/ids.ts';
import {
  alreadyMuted,
  alreadyTaken,
  answerRefused,
  askRefusalOf,
  askRefused,
  askSent,
  MUTE_ERRORS,
  muteAlreadyEnded,
  nothingToMute,
  questionOutOfDate,
  warRoomRefused,
} from '../../../src/slack/messages.ts';
import { decodeMuteMeta, decodeMuteRef, type MuteMeta, muteName } from '../../../src/slack/payloads.ts';
import {
  MUTE_LIST_MAX,
  MUTE_REASON_MAX,
  type MuteView,
  muteAnnouncement,
  mutedMessage,
  muteEnded,
  muteIdList,
  muteIdListFits,
  muteList,
  muteModal,
  readMuteForm,
} from '../../../src/slack/views/mute.ts';
import {
  answeredNote,
  askedNote,
  reminderNote,
  takenNote,
  timedOutNote,
  warRoomExistsNote,
  warRoomOpenedNote,
} from '../../../src/slack/views/next-move-notes.ts';
import { validateBlocks, validateView } from '../../e2e/fakes/slack.ts';
import { assertSafeModalTexts, assertSafeView, HOSTILE } from '../hostile.ts';
import { assertIndicatorIntact } from '../indicators.ts';

const NOW = Date.parse('2026-11-23T10:00:00.000Z');
const HOUR = 3_600_000;
const ANA = { id: 'U0ANA', name: 'Ana Analyst' };
const JANE = { id: 'U0JANE', name: 'Jane Doe' };
const MUTE_ID = '0b7e6f1c-2d3a-4b5c-8d9e-0f1a2b3c4d5e';

const mute = (o: Partial<MuteView> = {}): MuteView => ({
  id: MUTE_ID,
  channel: 'C0ALERTS',
  detectionName: 'Impossible travel',
  by: ANA,
  reason: 'Pentest this afternoon',
  createdAt: NOW,
  until: NOW + 4 * HOUR,
  endedAt: null,
  endedBy: null,
  muted: 0,
  escalated: 0,
  ...o,
});
const META: MuteMeta = {
  v: 1,
  alertId: 'a1',
  channel: 'C0ALERTS',
  detectionKey: 'id:det-42',
  detectionName: 'Impossible travel',
  stormId: null,
};

const muteValue = (path: string, value: unknown) => {
  const d = decodeMuteRef(value);
  if (!d.ok) throw new Error(`${path}: value does not decode`);
};
const safe = (view: { text: string; blocks: unknown[] }, allowed: string[] = []) => {
  assertSafeView(view, { alertId: '', checkValue: muteValue, allowed, actionIdScope: 'block' });
  expect(validateBlocks(view.blocks, 'message')).toEqual([]);
};
const safeModal = (view: ModalView) => {
  expect(validateView(view)).toEqual([]);
  assertSafeModalTexts(view, { allowed: ['<#C0ALERTS>'] });
};
const text = (v: unknown) => JSON.stringify(v);

describe('thread notes', () => {
  it('asked, answered, timed out, taken', () => {
    const asked = askedNote({ displayId: 'COT-1', askedBy: ANA, asked: JANE, deadline: NOW + 30 * 60_000 });
    expect(text(asked)).toContain(
      ':speech_balloon: <@U0ANA> asked <@U0JANE> whether *COT-1* was them; answer due by <!date^',
    );
    expect(asked.text).toBe('Ana Analyst asked Jane Doe whether COT-1 was them');
    safe(asked, ['<@U0ANA>', '<@U0JANE>']);

    const no = answeredNote({ displayId: 'COT-1', asked: JANE, answer: 'no', note: 'Not me!', escalated: true });
    expect(text(no)).toContain(
      '<@U0JANE> answered *“No, it wasn’t me”* about *COT-1* — the alert is escalated:\\n>Not me!',
    );
    const yes = answeredNote({ displayId: 'COT-1', asked: JANE, answer: 'yes' });
    expect(text(yes)).toContain(':white_check_mark: <@U0JANE> answered *“Yes, it was me”* about *COT-1*.');

    const late = timedOutNote({ displayId: 'COT-1', asked: JANE, waitedMs: 30 * 60_000 });
    expect(text(late)).toContain('<@U0JANE> did not answer about *COT-1* within 30 min.');

    const taken = takenNote({ displayId: 'COT-1', by: ANA });
    expect(taken.text).toBe('Ana Analyst took COT-1');
    expect(text(taken)).toContain('<@U0ANA> took *COT-1*');
    for (const v of [no, yes, late, taken]) safe(v, ['<@U0ANA>', '<@U0JANE>']);
  });

  it('reminders: n of 2, the wait, the on-call group only from a user group id', () => {
    const first = reminderNote({
      displayId: 'COT-1',
      severity: 'critical',
      n: 1,
      waitedMs: 15 * 60_000,
      oncall: ['S0ONCALL'],
    });
    expect(text(first)).toContain('Reminder 1 of 2: *COT-1* (critical) has waited 15 min with nobody on it.');
    expect(text(first)).toContain('\\n<!subteam^S0ONCALL>');
    expect(first.text).toMatch(/^<!subteam\^S0ONCALL> Reminder 1 of 2: COT-1 \(critical\) has waited 15 min/);
    safe(first, ['<!subteam^S0ONCALL>']);
    const last = reminderNote({ displayId: 'COT-1', severity: 'high', n: 2, waitedMs: 30 * 60_000, oncall: [] });
    expect(text(last)).toContain('Reminder 2 of 2');
    expect(text(last)).toContain('This is the last reminder.');
    expect(text(last)).not.toContain('subteam');
    for (const bad of ['<!channel>', 'u0ana', 's0lower', 'S0ONCALL|x', '!here', 'S0 X', 'here', 'channel']) {
      const v = reminderNote({ displayId: 'COT-1', severity: 'high', n: 1, waitedMs: 1, oncall: [bad] });
      expect(text(v)).not.toContain('subteam');
      expect(text(v)).not.toMatch(/<@|<!/);
      safe(v);
    }
    // People and groups together: each mentioned by its validated id.
    const both = reminderNote({ displayId: 'COT-1', severity: 'high', n: 1, waitedMs: 1, oncall: ['U0ANA', 'S0SOC'] });
    expect(text(both)).toContain('<@U0ANA> <!subteam^S0SOC>');
    safe(both, ['<@U0ANA>', '<!subteam^S0SOC>']);
  });

  it('war room: the channel linked only from a channel id', () => {
    const opened = warRoomOpenedNote({ displayId: 'COT-1', by: ANA, channel: 'C0INC1' });
    expect(text(opened)).toContain('<@U0ANA> opened an incident channel for *COT-1*: <#C0INC1>');
    const exists = warRoomExistsNote({ displayId: 'COT-1', channel: 'C0INC1' });
    expect(text(exists)).toContain('already open: <#C0INC1>');
    safe(opened, ['<@U0ANA>', '<#C0INC1>']);
    safe(exists, ['<#C0INC1>']);
    const odd = warRoomOpenedNote({ displayId: 'COT-1', by: ANA, channel: '<#C0|general>' });
    expect(text(odd)).toContain('a new channel');
    safe(odd, ['<@U0ANA>']);
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile corpus #%i in every field', (_, h) => {
    const p = { id: h, name: h };
    for (const v of [
      askedNote({ displayId: h, askedBy: p, asked: p, deadline: NOW }),
      answeredNote({ displayId: h, asked: p, answer: 'no', note: h, escalated: true }),
      answeredNote({ displayId: h, asked: p, answer: 'yes', note: h }),
      timedOutNote({ displayId: h, asked: p, waitedMs: 60_000 }),
      takenNote({ displayId: h, by: p }),
      reminderNote({ displayId: h, severity: h, n: 1, waitedMs: 60_000, oncall: [h] }),
      warRoomOpenedNote({ displayId: h, by: p, channel: h }),
      warRoomExistsNote({ displayId: h, channel: h }),
    ]) {
      safe(v);
    }
  });
});

describe('mute modal', () => {
  it('snapshot', () => {
    expect(muteModal(META, { now: NOW })).toMatchSnapshot();
  });

  it('1 h / 4 h / 24 h / until, a date-time picker, a required reason; the metadata round-trips', () => {
    const view = muteModal(META, { now: NOW });
    safeModal(view);
    expect(view.callback_id).toBe(VIEWS.muteModal);
    expect(decodeMuteMeta(view.private_metadata)).toEqual({ ok: true, value: META });
    const input = (id: string) => view.blocks.find((b) => b.block_id === id) as unknown as Record<string, unknown>;
    const duration = input(BLOCKS.muteDuration).element as unknown as {
      options: { value: string }[];
      initial_option: unknown;
    };
    expect(duration.options.map((o) => o.value)).toEqual(['1h', '4h', '24h', 'until']);
    expect(input(BLOCKS.muteUntil)).toMatchObject({ optional: true, element: { type: 'datetimepicker' } });
    expect(input(BLOCKS.muteReason)).toMatchObject({ element: { max_length: MUTE_REASON_MAX } });
    expect(input(BLOCKS.muteReason)).not.toHaveProperty('optional');
    expect(text(view)).toContain('Escalated and critical alerts still get their card.');
    expect(text(view)).toContain(
      `(until <!date^${(NOW + MAX_MUTE_MS) / 1000}^{date_short_pretty} at {time}|2026-11-30 10:00 UTC> at the latest)`,
    );
    const strict = muteModal(META, { now: NOW, breakThrough: { escalated: true, critical: false } });
    expect(text(strict)).toContain('Escalated alerts still get their card.');
  });

  it('shown again: the choices kept', () => {
    const until = NOW + 48 * HOUR;
    const view = muteModal(META, { now: NOW, values: { choice: 'until', untilMs: until, reason: 'why' }, notice: 'x' });
    safeModal(view);
    expect(text(view)).toContain(`"initial_date_time":${until / 1000}`);
    expect(text(view)).toContain('"initial_value":"why"');
  });

  const form = (choice: string | null, at: number | null, reason: string | null) => ({
    [BLOCKS.muteDuration]: { [INPUTS.muteDuration]: { selected_option: choice ? { value: choice } : null } },
    [BLOCKS.muteUntil]: { [INPUTS.muteUntil]: { selected_date_time: at === null ? null : at / 1000 } },
    [BLOCKS.muteReason]: { [INPUTS.muteReason]: { value: reason } },
  });

  it.each([
    ['1 h', form('1h', null, ' scan '), { ok: true, choice: '1h', until: NOW + HOUR, reason: 'scan' }],
    ['4 h', form('4h', null, 'x'), { ok: true, until: NOW + 4 * HOUR }],
    ['24 h', form('24h', NOW + 99 * HOUR, 'x'), { ok: true, until: NOW + 24 * HOUR }],
    ['until', form('until', NOW + 50 * HOUR, 'x'), { ok: true, until: NOW + 50 * HOUR }],
    [
      'until, none picked',
      form('until', null, 'x'),
      { ok: false, errors: { [BLOCKS.muteUntil]: MUTE_ERRORS.untilMissing } },
    ],
    [
      'in the past',
      form('until', NOW - 1000, 'x'),
      { ok: false, errors: { [BLOCKS.muteUntil]: MUTE_ERRORS.inThePast } },
    ],
    [
      'too long',
      form('until', NOW + MAX_MUTE_MS + HOUR, 'x'),
      { ok: false, errors: { [BLOCKS.muteUntil]: MUTE_ERRORS.tooLong(7) } },
    ],
    ['no reason', form('1h', null, '  '), { ok: false, errors: { [BLOCKS.muteReason]: MUTE_ERRORS.reasonMissing } }],
    ['reason too long', form('1h', null, 'r'.repeat(MUTE_REASON_MAX + 1)), { ok: false }],
    ['no duration', form(null, null, 'x'), { ok: false, errors: { [BLOCKS.muteDuration]: MUTE_ERRORS.duration } }],
    ['foreign duration', form('forever', null, 'x'), { ok: false }],
  ])('reads a submission: %s', (_, values, expected) => {
    expect(readMuteForm(values, NOW)).toMatchObject(expected);
  });

  it('reads nothing from an empty submission without throwing', () => {
    expect(readMuteForm(undefined, NOW)).toMatchObject({ ok: false });
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile detection name #%i', (_, h) => {
    safeModal(muteModal({ ...META, detectionName: muteName(h) }, { now: NOW }));
  });
});

describe('mute messages', () => {
  it('snapshot: announcement, the quiet message, the end, the list', () => {
    const m = mute({ muted: 212 });
    expect({
      announcement: muteAnnouncement(m),
      muted: mutedMessage(m, { muted: 212, escalated: 0 }),
      ended: muteEnded({ ...m, endedAt: m.until }, { muted: 212, escalated: 0 }),
      list: muteList([m], NOW + HOUR),
    }).toMatchSnapshot();
  });

  it('the announcement: who, what, until when, why', () => {
    const v = muteAnnouncement(mute());
    expect(text(v)).toContain(':mute: <@U0ANA> muted Impossible travel in this channel until <!date^');
    expect(text(v)).toContain('(for 4 h):\\n>Pentest this afternoon');
    safe(v, ['<@U0ANA>']);
  });

  it('the quiet message mentions nobody and counts', () => {
    const v = mutedMessage(mute(), { muted: 1_212, escalated: 3 });
    expect(text(v)).toContain('*1,212 alerts* held back, 3 escalated. Every id is listed in this thread.');
    expect(text(v)).not.toMatch(/<[@#]|<!(?!date\^)/);
    expect(text(v)).toContain('(by Ana Analyst)');
    safe(v);
  });

  it('the end: "muted 4 h: 212 alerts, 0 escalated"; early, who unmuted', () => {
    const done = muteEnded(mute({ endedAt: NOW + 4 * HOUR }), { muted: 212, escalated: 0 });
    expect(text(done)).toContain('The mute of Impossible travel ended — muted 4 h: 212 alerts, 0 escalated.');
    const early = muteEnded(mute({ endedAt: NOW + 65 * 60_000, endedBy: JANE }), { muted: 1, escalated: 1 });
    expect(text(early)).toContain('<@U0JANE> unmuted Impossible travel — muted 1 h 5 min: 1 alert, 1 escalated.');
    safe(done);
    safe(early, ['<@U0JANE>']);
  });

  it('the id list: code spans, in sections within Slack limits, as the storm lists do', () => {
    const ids = Array.from({ length: 1_200 }, (_, i) => `COT-${10_000 + i}`);
    const n = muteIdListFits(ids);
    expect(n).toBeGreaterThan(500);
    const v = muteIdList(mute(), ids.slice(0, n), 1);
    expect(v.text).toBe(`:ledger: Muted alert ids, 1–${n.toLocaleString('en-US')} (in the order they came):`);
    expect(text(v)).toContain('`COT-10000` `COT-10001`');
    safe(v);
  });

  it('the list: live mutes newest first, each with Unmute; ended and expired ones left out; empty state', () => {
    const mutes = [
      mute({ id: 'm-old', createdAt: NOW - HOUR }),
      mute({ id: 'm-new', detectionName: 'Token reuse', createdAt: NOW }),
      mute({ id: 'm-ended', endedAt: NOW, endedBy: ANA }),
      mute({ id: 'm-expired', until: NOW + 1 }),
    ];
    const v = muteList(mutes, NOW + 1_000);
    safe(v, ['<#C0ALERTS>']);
    const values = (text(v).match(/"value":"(.*?)","/g) ?? []).length;
    expect(values).toBe(2);
    const rows = v.blocks.filter((b) => b.block_id?.startsWith('mute.list.row.'));
    expect(rows.map((r) => decodeMuteRef((r as { accessory?: { value: string } }).accessory?.value))).toEqual([
      { ok: true, value: { v: 1, muteId: 'm-new' } },
      { ok: true, value: { v: 1, muteId: 'm-old' } },
    ]);
    expect(text(v)).toContain(ACTIONS.unmute);
    expect(text(v)).toContain('(3 h 59 min left)');
    const empty = muteList([mute({ endedAt: NOW })], NOW);
    expect(empty.text).toBe('No detection is muted.');
    safe(empty);
    const many = muteList(
      Array.from({ length: 30 }, (_, i) => mute({ id: `m${i}` })),
      NOW,
    );
    expect(many.blocks.filter((b) => b.block_id?.startsWith('mute.list.row.'))).toHaveLength(MUTE_LIST_MAX);
    expect(text(many)).toContain('+10 more not shown.');
    safe(many, ['<#C0ALERTS>']);
  });

  it('a detection name with formatting markers copies out intact', () => {
    const name = 'powershell_*encoded*_cmd';
    assertIndicatorIntact(muteAnnouncement(mute({ detectionName: name })), name, 'announcement');
    assertIndicatorIntact(muteList([mute({ detectionName: name })], NOW), name, 'list');
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile corpus #%i in every field', (_, h) => {
    const m = mute({
      id: h.slice(0, 64) || 'x',
      channel: h,
      detectionName: h,
      by: { id: h, name: h },
      reason: h,
      endedBy: { id: h, name: h },
    });
    safe(muteAnnouncement(m));
    safe(mutedMessage(m, { muted: 3, escalated: 1 }));
    safe(muteEnded({ ...m, endedAt: NOW + HOUR }, { muted: 3, escalated: 1 }));
    safe(muteIdList(m, [h, h, 'COT-1'], 1));
    const list = muteList([m], NOW);
    assertSafeView(list, { alertId: '', checkValue: () => undefined, actionIdScope: 'block' });
    expect(validateBlocks(list.blocks, 'message')).toEqual([]);
  });
});

describe('refusals and notes to the analyst', () => {
  it('say what happened and what to do', () => {
    expect(askRefused('no_address', { displayId: 'COT-1' })).toBe(
      ':mag: No e-mail address in *COT-1*: pick the person to ask.',
    );
    expect(askRefused('several', { displayId: 'COT-1', addresses: ['a@x.io', 'b@x.io'] })).toContain(
      '(`a@x.io`, `b@x.io`): pick the one to ask',
    );
    expect(askRefused('not_found', { email: 'ghost@acme.io' })).toContain(
      '`ghost@acme.io` is not the e-mail of anyone',
    );
    expect(askRefused('deactivated', { person: JANE })).toContain("<@U0JANE>'s Slack account is deactivated");
    expect(askRefused('bot', { person: JANE })).toContain('is a bot');
    expect(askRefused('guest', { person: JANE })).toContain('guest account');
    expect(askRefused('dm_closed', { person: JANE })).toContain('Nothing was sent');
    expect(askRefused('already_asked', { displayId: 'COT-1', person: JANE, askedBy: ANA, deadline: NOW })).toContain(
      '<@U0JANE> was already asked about *COT-1* by <@U0ANA>; they have until <!date^',
    );
    expect(answerRefused('already_answered', 'no')).toContain('(“No, it wasn’t me”)');
    expect(warRoomRefused('restricted')).toContain('`restricted_action`');
    expect(warRoomRefused('name_taken', { tries: 5 })).toContain('(5 tries)');
    expect(warRoomRefused('exists', { channel: 'C0INC' })).toContain('<#C0INC>');
    expect(warRoomRefused('exists', { channel: '<!here>' })).toContain('its channel');
  });

  it('Slack errors on the person map to what the analyst is told; others are not about the person', () => {
    expect(
      ['users_not_found', 'user_disabled', 'cannot_dm_bot', 'cannot_dm_user', 'ratelimited', 'internal_error'].map(
        askRefusalOf,
      ),
    ).toEqual(['not_found', 'deactivated', 'bot', 'dm_closed', null, null]);
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile corpus #%i cannot ping or link', (_, h) => {
    const p = { id: h, name: h };
    const all = [
      ...(
        ['no_address', 'several', 'not_found', 'deactivated', 'bot', 'guest', 'dm_closed', 'already_asked'] as const
      ).map((code) =>
        askRefused(code, { displayId: h, email: h, addresses: [h, h], person: p, askedBy: p, deadline: NOW }),
      ),
      askSent(h, p, NOW),
      ...(['not_yours', 'already_answered', 'timed_out'] as const).map((c) => answerRefused(c, 'yes')),
      questionOutOfDate(),
      alreadyTaken(h, p),
      warRoomRefused('exists', { channel: h }),
      warRoomRefused('name_taken', { tries: 5 }),
      warRoomRefused('restricted'),
      alreadyMuted(h, NOW, p),
      nothingToMute(h),
      muteAlreadyEnded(h),
    ];
    for (const t of all) {
      assertSafeView({ text: t, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: t } }] }, { alertId: '' });
    }
  });
});
