/**
 * "Was this you?" as a use-case: a fake workspace (people by e-mail, DMs), the real SQLite store in
 * memory on the harness's fixed clock (the store's clock is the same fake time), a Cotool fake that
 * records comments and status changes.
 */
import { describe, expect, it } from 'vitest';
import type { SlackPerson, SlackWorkspace } from '../../src/ports.ts';
import { type AskUserViews, createAskUser, type QuestionOutcome } from '../../src/service/ask-user.ts';
import { answeredNote, askedNote, timedOutNote } from '../../src/slack/views/next-move-notes.ts';
import { CARD_TS, CHANNEL, json, triageHarness } from './fakes.ts';

const ANA = { id: 'U0ANA', name: 'Ana Analyst' };
const BOT = { id: 'U0BOT', name: 'Cotool' };
type Person = SlackPerson & { email?: string; dmsClosed?: boolean; dmRefusal?: string };
const person = (id: string, name: string, extra: Partial<Person> = {}): Person => ({
  id,
  name,
  deleted: false,
  isBot: false,
  isRestricted: false,
  isUltraRestricted: false,
  ...extra,
});
const JANE = person('U0JANE', 'Jane Doe', { email: 'jane@acme.io' });
const BOB = person('U0BOB', 'Bob Roe', { email: 'bob@acme.io' });
const GONE = person('U0GONE', 'Gone Person', { email: 'gone@acme.io', deleted: true });
const ROBOT = person('U0ROBOT', 'Deploy Bot', { email: 'robot@acme.io', isBot: true });
const GUEST = person('U0GUEST', 'Gus Guest', { email: 'gus@acme.io', isRestricted: true });
const CLOSED = person('U0CLOSED', 'Closed Dms', { email: 'closed@acme.io', dmsClosed: true });
/** Slack's profile said active, but opening the DM says otherwise (deactivated since). */
const STALE = person('U0STALE', 'Stale Profile', { dmRefusal: 'user_disabled' });
const PEOPLE = [JANE, BOB, GONE, ROBOT, GUEST, CLOSED, STALE];

function fakeWorkspace(people: readonly Person[] = PEOPLE) {
  const calls: string[] = [];
  const workspace: Pick<SlackWorkspace, 'userByEmail' | 'user' | 'openDm'> = {
    async userByEmail(email) {
      calls.push(`email:${email}`);
      return people.find((p) => p.email?.toLowerCase() === email.toLowerCase()) ?? null;
    },
    async user(id) {
      calls.push(`user:${id}`);
      return people.find((p) => p.id === id) ?? (id === ANA.id ? person(ANA.id, ANA.name) : null);
    },
    async openDm(id) {
      calls.push(`dm:${id}`);
      const p = people.find((x) => x.id === id);
      if (!p) return { ok: false, code: 'user_not_found' };
      if (p.isBot) return { ok: false, code: 'cannot_dm_bot' };
      if (p.deleted) return { ok: false, code: 'user_disabled' };
      if (p.dmsClosed) return { ok: false, code: 'messages_tab_disabled' };
      if (p.dmRefusal) return { ok: false, code: p.dmRefusal };
      return { ok: true, channel: `D${id.slice(1)}` };
    },
  };
  return { workspace, calls };
}

const views: AskUserViews = { askedNote, answeredNote, timedOutNote };
const TIMEOUT = 30 * 60_000;

async function setup(title = 'Impossible travel: jane@acme.io signed in from two countries', description = '') {
  const h = await triageHarness({ title, description, severity: 'high' });
  h.access.policy.check = async (id: string) =>
    id === ANA.id
      ? {
          ok: true,
          user: { id, name: ANA.name, isRestricted: false, isUltraRestricted: false, isBot: false, deleted: false },
        }
      : { ok: false, reason: 'not_channel_member' };
  const comments: { alertId: string; body: string }[] = [];
  const ws = fakeWorkspace();
  const outcomes: QuestionOutcome[] = [];
  const service = createAskUser({
    triage: h.deps,
    cotool: {
      async addComment(alertId, body) {
        comments.push({ alertId, body });
        return { id: `c${comments.length}` } as never;
      },
    },
    workspace: ws.workspace,
    views,
    timeoutMs: TIMEOUT,
    botUser: async () => BOT,
    onOutcome: (o) => outcomes.push(o),
    busyRetryMs: 1,
  });
  const items = async (kind: 'question_dm' | 'question_update' | 'reply') => h.store.listOutbox({ kind });
  const ask = (targetUserId = JANE.id, userId = ANA.id) =>
    service.askUser({
      alertId: h.alert.id,
      userId,
      targetUserId,
      message: 'Did you just sign in from Lisbon?',
      place: { channel: CHANNEL, ts: CARD_TS },
    });
  return { h, service, comments, ws, outcomes, items, ask };
}

describe('candidates for the modal', () => {
  it('finds the one person an identity alert names and pre-selects them', async () => {
    const { h, service } = await setup();
    const r = await service.candidates({ alertId: h.alert.id, expectedUpdatedAt: h.alert.updatedAt, userId: ANA.id });
    if (!r.ok) throw new Error(r.code);
    expect(r.candidates).toEqual([{ email: 'jane@acme.io', userId: JANE.id, name: 'Jane Doe', problem: null }]);
    expect(r.preselect).toBe(JANE.id);
    expect(r.place).toEqual({ channel: CHANNEL, ts: CARD_TS });
  });

  it('says why each address cannot be asked, and pre-selects nobody when several people can', async () => {
    const { h, service } = await setup(
      'Shared login: jane@acme.io, bob@acme.io',
      'also gone@acme.io, robot@acme.io, gus@acme.io, nobody@acme.io',
    );
    const r = await service.candidates({ alertId: h.alert.id, expectedUpdatedAt: h.alert.updatedAt, userId: ANA.id });
    if (!r.ok) throw new Error(r.code);
    expect(r.candidates.map((c) => [c.email, c.problem])).toEqual([
      ['jane@acme.io', null],
      ['bob@acme.io', null],
      ['gone@acme.io', 'deactivated'],
      ['robot@acme.io', 'bot'],
      ['gus@acme.io', 'guest'],
    ]);
    expect(r.preselect).toBeNull();
  });

  it('an alert without an address: no candidates, nobody pre-selected; a refused analyst: denied', async () => {
    const { h, service } = await setup('Brute force on the VPN', 'no address here');
    const r = await service.candidates({ alertId: h.alert.id, expectedUpdatedAt: h.alert.updatedAt, userId: ANA.id });
    expect(r.ok && r.candidates).toEqual([]);
    expect(r.ok && r.preselect).toBeNull();
    const denied = await service.candidates({
      alertId: h.alert.id,
      expectedUpdatedAt: h.alert.updatedAt,
      userId: 'U0MALLORY',
    });
    expect(denied).toMatchObject({ ok: false, code: 'denied' });
  });
});

describe('asking', () => {
  it('records the question with its DM and the thread note in one change, and comments in Cotool naming both', async () => {
    const { h, ask, items, comments, outcomes } = await setup();
    const r = await ask();
    if (!r.ok) throw new Error(r.code);
    expect(r.question.deadline - r.question.askedAt).toBe(TIMEOUT);
    const stored = await h.store.getQuestion(r.question.id);
    expect(stored).toMatchObject({
      state: 'asked',
      askedUserId: JANE.id,
      askedBy: ANA,
      channel: CHANNEL,
      threadTs: CARD_TS,
    });
    const [dm] = await items('question_dm');
    expect(dm?.channel).toBe('D0JANE');
    expect(json(dm?.payload)).toContain('Did you just sign in from Lisbon?');
    const replies = await h.replies();
    expect(replies).toHaveLength(1);
    expect(replies[0]?.thread_ts).toBe(CARD_TS);
    expect(json(replies[0])).toContain('<@U0ANA> asked <@U0JANE>');
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toMatch(
      /^Note from Slack by Ana Analyst \(<@U0ANA>\): Asked Jane Doe \(<@U0JANE>\) in Slack/,
    );
    expect(outcomes).toEqual(['asked']);
  });

  it('a second ask of the same person (a double submit) is refused: one question, one DM', async () => {
    const { h, ask, items } = await setup();
    const [a, b] = await Promise.all([ask(), ask()]);
    const results = [a, b];
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.find((r) => !r.ok)).toMatchObject({ ok: false, code: 'already_asked' });
    expect(await items('question_dm')).toHaveLength(1);
    expect(await h.store.questionsOf(h.alert.id)).toHaveLength(1);
  });

  it.each([
    [GONE.id, 'deactivated'],
    [ROBOT.id, 'bot'],
    [GUEST.id, 'guest'],
    [CLOSED.id, 'dm_closed'],
    [STALE.id, 'deactivated'],
    ['U0NOBODY', 'not_found'],
  ])('refuses to ask %s (%s): nothing recorded, nothing sent', async (id, code) => {
    const { h, ask, items, comments } = await setup();
    const r = await ask(id);
    expect(r).toMatchObject({ ok: false, code });
    expect(await items('question_dm')).toHaveLength(0);
    expect(await h.store.questionsOf(h.alert.id)).toHaveLength(0);
    expect(comments).toHaveLength(0);
  });

  it('refuses an analyst the access policy refuses, before looking anyone up', async () => {
    const { ask, ws } = await setup();
    expect(await ask(JANE.id, 'U0MALLORY')).toMatchObject({ ok: false, code: 'denied' });
    expect(ws.calls).toEqual([]);
  });

  it('asks automatically when exactly one askable person is named (the bot asks), and not otherwise', async () => {
    const { h, service, items } = await setup();
    const r = await service.askAutomatically(h.cotool.alert, { channel: CHANNEL, ts: CARD_TS });
    expect(r).toMatchObject({ ok: true });
    expect((await h.store.questionsOf(h.alert.id))[0]?.askedBy).toEqual(BOT);
    expect(await items('question_dm')).toHaveLength(1);
    const two = await setup('Shared login: jane@acme.io, bob@acme.io');
    expect(await two.service.askAutomatically(two.h.cotool.alert, { channel: CHANNEL, ts: CARD_TS })).toEqual({
      ok: false,
      code: 'no_one',
    });
  });
});

describe('answering', () => {
  async function asked() {
    const s = await setup();
    const r = await s.ask();
    if (!r.ok) throw new Error(r.code);
    // The DM was posted (the sender records where, with the question's 'dm' write).
    await s.h.store.apply([{ question: { op: 'dm', id: r.question.id, channel: 'D0JANE', ts: '1795000002.000001' } }]);
    return { ...s, q: r.question };
  }

  it('only the person asked may answer; they answer once', async () => {
    const { service, q, items } = await asked();
    expect(await service.answerQuestion({ questionId: q.id, userId: BOB.id, answer: 'yes' })).toMatchObject({
      ok: false,
      code: 'not_yours',
    });
    const first = await service.answerQuestion({
      questionId: q.id,
      userId: JANE.id,
      answer: 'yes',
      note: 'at the airport',
    });
    expect(first).toMatchObject({ ok: true, escalation: null });
    expect(await service.answerQuestion({ questionId: q.id, userId: JANE.id, answer: 'no' })).toMatchObject({
      ok: false,
      code: 'already_answered',
    });
    expect(await items('question_update')).toHaveLength(1);
  });

  it('two answers at once (a double click): exactly one is recorded', async () => {
    const { h, service, q, outcomes } = await asked();
    const results = await Promise.all([
      service.answerQuestion({ questionId: q.id, userId: JANE.id, answer: 'yes' }),
      service.answerQuestion({ questionId: q.id, userId: JANE.id, answer: 'no' }),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'yes' || o === 'no')).toHaveLength(1);
    const state = (await h.store.getQuestion(q.id))?.state;
    expect(h.cotool.count('updateStatus')).toBe(state === 'no' ? 1 : 0);
  });

  it('No: the thread hears it, Cotool gets a comment naming who answered, and the alert is escalated naming the answer and the asker', async () => {
    const { h, service, q, comments } = await asked();
    const r = await service.answerQuestion({ questionId: q.id, userId: JANE.id, answer: 'no', note: 'I was asleep' });
    expect(r).toMatchObject({ ok: true, escalation: { ok: true, escalated: true } });
    expect(h.cotool.alert.status).toBe('escalated');
    const call = h.cotool.calls.find((c) => c.method === 'updateStatus');
    expect(call?.args[2]).toBe(
      'Escalated from Slack by Jane Doe (<@U0JANE>): answered “No, it wasn’t me” when Ana Analyst (<@U0ANA>) asked whether this was them: I was asleep',
    );
    expect(comments.at(-1)?.body).toBe(
      'Note from Slack by Jane Doe (<@U0JANE>): Answered “No, it wasn’t me” when Ana Analyst (<@U0ANA>) asked in Slack whether this was them: I was asleep',
    );
    const replies = json(await h.replies());
    expect(replies).toContain('<@U0JANE> answered *“No, it wasn’t me”*');
    expect(replies).toContain('I was asleep');
    expect((await h.store.get(h.alert.id))?.lastAction).toMatchObject({
      kind: 'status',
      status: 'escalated',
      by: { id: JANE.id },
    });
  });

  it('No on an alert closed meanwhile does not reopen it', async () => {
    const { h, service, q } = await asked();
    h.cotool.changeElsewhere({ status: 'closed_false_positive' });
    const r = await service.answerQuestion({ questionId: q.id, userId: JANE.id, answer: 'no' });
    expect(r).toMatchObject({ ok: true, escalation: { ok: true, escalated: false, status: 'closed_false_positive' } });
    expect(h.cotool.count('updateStatus')).toBe(0);
  });

  it('an unknown question id: refused, nothing written', async () => {
    const { service } = await setup();
    expect(await service.answerQuestion({ questionId: 'nope', userId: JANE.id, answer: 'yes' })).toEqual({
      ok: false,
      code: 'unknown_question',
    });
  });
});

describe('timing out (the store judges the deadline by its own clock)', () => {
  it('a question times out exactly at its deadline, once, with one thread note; an answer after it is refused', async () => {
    const { h, service, ask, outcomes } = await setup();
    const r = await ask();
    if (!r.ok) throw new Error(r.code);
    h.advance(TIMEOUT - 1);
    expect(await service.timeOutQuestions()).toBe(0);
    h.advance(1);
    expect(await service.timeOutQuestions()).toBe(1);
    expect(await service.timeOutQuestions()).toBe(0);
    expect((await h.store.getQuestion(r.question.id))?.state).toBe('timed_out');
    const notes = (await h.replies()).filter((m) => json(m).includes('did not answer'));
    expect(notes).toHaveLength(1);
    expect(json(notes[0])).toContain('within 30 min');
    expect(outcomes).toEqual(['asked', 'timed_out']);
    expect(await service.answerQuestion({ questionId: r.question.id, userId: JANE.id, answer: 'yes' })).toMatchObject({
      ok: false,
      code: 'timed_out',
    });
  });
});
