/**
 * The timeline in the card's thread, end to end, in Socket Mode and HTTP mode: comments, triage runs
 * and severity changes made in Cotool appear once each as quiet replies in the card's thread (several
 * in one poll: one reply), also after a restart on the same database; a hostile comment stays inert;
 * Slack answering 5xx after storing a note does not make a second one; a note made from Slack is not
 * told again; THREAD_TIMELINE=comments tells comments only. The real bot against the fakes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS, BLOCKS, INPUTS, VIEWS } from '../../src/slack/ids.ts';
import { assertSafeView } from '../slack/hostile.ts';
import { createClicker, JANE, type Mode, textOf, valueFor } from './actions-helpers.ts';
import type { SlackMessage, SlackThread, SlackView } from './fakes/slack.ts';
import { CHANNEL, eventually, type Stack, type StartedBot, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

const DANA = { type: 'human' as const, name: 'Dana Analyst' };

async function boot(mode: Mode, env: Record<string, string> = {}, options = {}) {
  stack.slack.addUser(JANE);
  const a = stack.cotool.addAlert({ severity: 'medium' });
  const bot = await stack.start(mode, env, { unknownSettleMs: 20, ...options });
  await bot.settle();
  const cardTs = (stack.slack.messages(CHANNEL).find((m) => textOf(m.blocks).includes(a.displayId)) as SlackThread).ts;
  return { a, bot, cardTs };
}

const card = (ts: string) => stack.slack.messages(CHANNEL).find((m) => m.ts === ts) as SlackThread;
/** The bot's timeline notes in the card's thread. */
const notesIn = (ts: string): SlackMessage[] =>
  (card(ts).replies ?? []).filter((r) => r.metadata?.event_type === 'cotool_note' && r.bot_id === stack.slack.botId);
const timelineNotes = (ts: string) =>
  notesIn(ts).filter((r) => String(r.metadata?.event_payload?.key ?? '').includes(':timeline:'));
const count = (haystack: string, needle: string) => haystack.split(needle).length - 1;

/** A comment by someone in Cotool: the entry, and the alert's updatedAt moving with it (as Cotool does). */
function commentInCotool(id: string, words: string, by = DANA) {
  stack.cotool.addTimelineEntry(id, {
    kind: 'comment',
    actorType: by.type,
    actorUserName: by.name,
    bodyMarkdown: words,
  });
  stack.cotool.updateAlert(id, {});
}

describe.each(['socket', 'http'] as const)('timeline in the thread (%s mode)', (mode) => {
  it('comments, a triage run and a severity change made in Cotool appear once each, also after a restart', async () => {
    const { a, bot, cardTs } = await boot(mode);
    expect(timelineNotes(cardTs)).toEqual([]);

    commentInCotool(a.id, 'Checked the VPN logs: nothing from the user');
    await bot.settle();
    await eventually(() => timelineNotes(cardTs).length === 1);

    stack.cotool.updateAlert(a.id, { severity: 'critical' }, { actor: DANA, reason: 'Exfiltration confirmed' });
    await bot.settle();
    await eventually(() => timelineNotes(cardTs).length === 2);

    stack.cotool.addTimelineEntry(a.id, {
      kind: 'triage_run',
      actorType: 'agent',
      actorAgentName: 'Aria',
      bodyMarkdown: 'Token replay from a TOR exit node',
      metadata: { outcome: 'escalate' },
    });
    stack.cotool.updateAlert(a.id, {});
    await bot.settle();
    await eventually(() => timelineNotes(cardTs).length === 3);
    // Nothing new, nothing told.
    await bot.settle();

    const notes = timelineNotes(cardTs);
    expect(notes).toHaveLength(3);
    const all = textOf(notes);
    expect(count(all, 'Checked the VPN logs')).toBe(1);
    expect(count(all, 'changed severity')).toBe(1);
    expect(count(all, 'Exfiltration confirmed')).toBe(1);
    expect(count(all, 'ran triage')).toBe(1);
    expect(textOf(notes[0])).toContain('*Dana Analyst* commented');
    expect(textOf(notes[1])).toMatch(/\*Dana Analyst\* changed severity \*.*Medium\* → \*.*Critical\*/);
    expect(textOf(notes[2])).toContain('Agent *Aria* ran triage');
    for (const n of notes) {
      expect(n.thread_ts).toBe(cardTs);
      expect(n.subtype).not.toBe('thread_broadcast');
    }
    // Nothing else of the bot in the channel but the card.
    expect(stack.slack.messages(CHANNEL)).toHaveLength(1);

    // Restart on the same database: what was told is not told again; what is new is, once.
    await bot.stop();
    const again = await stack.start(mode, {}, { unknownSettleMs: 20 });
    await again.settle();
    commentInCotool(a.id, 'Second look: same ASN as last week');
    stack.cotool.updateAlert(a.id, { severity: 'high' }, { actor: DANA, reason: 'Downgraded after review' });
    await again.settle();
    await eventually(() => timelineNotes(cardTs).length === 4);
    await again.settle();
    const after = timelineNotes(cardTs);
    expect(after).toHaveLength(4);
    // Two entries of one poll: one reply, oldest first.
    const last = textOf(after[3]);
    expect(last.indexOf('Second look')).toBeGreaterThan(-1);
    expect(last.indexOf('Second look')).toBeLessThan(last.indexOf('Downgraded after review'));
    expect(count(textOf(after), 'Checked the VPN logs')).toBe(1);
  });

  it('a hostile comment stays inert: no mention, no link, not broadcast', async () => {
    const { a, bot, cardTs } = await boot(mode);
    const hostile =
      '<!channel> <@U0BOSS> @here <https://evil.example/login|https://cotool.ai> see https://evil.example';
    commentInCotool(a.id, hostile, { type: 'human', name: '<!here> Mallory <@U0BOSS>' });
    await bot.settle();
    const notes = await eventually(() => {
      const n = timelineNotes(cardTs);
      return n.length === 1 ? n : null;
    });
    const note = notes?.[0];
    if (!note) throw new Error('no note');
    assertSafeView({ text: note.text, blocks: note.blocks ?? [] }, { alertId: a.id });
    expect(note.subtype).not.toBe('thread_broadcast');
    // The words are shown literally (rich text: no mrkdwn, no tokens; a bare @here defused), the name escaped.
    expect(textOf(note.blocks)).toContain(JSON.stringify(hostile.replace('@here', '@\u2060here')).slice(1, -1));
    expect(textOf(note.blocks)).toContain('&lt;!here&gt; Mallory &lt;@U0BOSS&gt;');
  });

  it('Slack answers 5xx after storing a note: no second note', async () => {
    const { a, bot, cardTs } = await boot(mode);
    commentInCotool(a.id, 'Blocked the IP at the edge');
    stack.slack.failAfterCommit('chat.postMessage', 1, 500);
    const r = await bot.settle();
    expect(r.failed).toBeGreaterThanOrEqual(1);
    await eventually(() => timelineNotes(cardTs).length === 1);
    await bot.settle();
    commentInCotool(a.id, 'And the range');
    await bot.settle();
    await eventually(() => timelineNotes(cardTs).length === 2);
    await bot.settle();
    const notes = timelineNotes(cardTs);
    expect(notes).toHaveLength(2);
    expect(count(textOf(notes), 'Blocked the IP at the edge')).toBe(1);
    expect(count(textOf(notes), 'And the range')).toBe(1);
  });

  it('a note added from Slack is not told again; THREAD_TIMELINE=comments tells comments only', async () => {
    const { a, bot, cardTs } = await boot(mode, { THREAD_TIMELINE: 'comments' });
    const c = createClicker(stack, bot as StartedBot, mode);
    await c.click(JANE.id, cardTs, ACTIONS.addNote, valueFor(card(cardTs), ACTIONS.addNote));
    const view = (await eventually(() =>
      stack.slack.views().find((v) => v.callback_id === VIEWS.noteModal && textOf(v.blocks).includes('"type":"input')),
    )) as SlackView;
    await c.submit(JANE.id, view, { [BLOCKS.noteText]: { [INPUTS.noteText]: 'Called the user, travel confirmed' } });
    await eventually(() => notesIn(cardTs).length === 1);
    // A change in Cotool that is not a comment, then a poll: nothing told (comments only).
    stack.cotool.updateAlert(a.id, { severity: 'critical' }, { actor: DANA, reason: 'Raised' });
    await bot.settle();
    await bot.settle();
    expect(count(textOf(card(cardTs).replies), 'Called the user, travel confirmed')).toBe(1);
    expect(timelineNotes(cardTs)).toEqual([]);
    commentInCotool(a.id, 'Closing after the call');
    await bot.settle();
    await eventually(() => timelineNotes(cardTs).length === 1);
    expect(textOf(timelineNotes(cardTs))).toContain('Closing after the call');
    expect(textOf(timelineNotes(cardTs))).not.toContain('Raised');
    expect(textOf(timelineNotes(cardTs))).not.toContain('travel confirmed');
  });

  it('THREAD_TIMELINE=off: nothing is told', async () => {
    const { a, bot, cardTs } = await boot(mode, { THREAD_TIMELINE: 'off' });
    commentInCotool(a.id, 'Quiet please');
    await bot.settle();
    await bot.settle();
    expect(card(cardTs).replies ?? []).toEqual([]);
    expect(await bot.store.listOutbox({ kind: 'thread_note' })).toEqual([]);
  });
});
