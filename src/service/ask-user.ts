/**
 * "Was this you?": ask the person an alert names, by direct message, and act on the answer.
 *
 *   candidates → the modal: the e-mail addresses in the alert, each looked up in Slack, and who can
 *                be asked (exactly one askable person is pre-selected).
 *   askUser    → access → the person (deactivated, bot, guest: refused) → their DM opens (refused:
 *                "can't send them a DM") → one Change: the question recorded 'asked' with its DM
 *                (question_dm) and the card's thread note, both in the outbox; a second ask of the same
 *                person about the same alert conflicts ("already asked") → a Cotool comment naming who
 *                asked whom.
 *   answer     → only the person asked, once (the store's compare-and-set): one Change with the
 *                thread note and the DM's redraw (question_update) → a Cotool comment naming who
 *                answered → No escalates the alert (reason names the answer and the asker), through
 *                the same path as a status change from the card (claim, write or re-read, intent,
 *                the card redrawn through the outbox).
 *   timeOut    → the leader, each poll cycle: questions past their deadline (the database's clock)
 *                are timed out once, with a thread note and the DM redrawn.
 *
 * Results, not exceptions. Slack is reached through the SlackWorkspace port (people, DMs), messages
 * only through the outbox; Cotool through its client.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { type Alert, isLive } from '../core/alert.ts';
import { type AnswerCheck, emailsIn, mayAnswer, type NotAskable, whyNotAskable } from '../core/ask-user.ts';
import { buildReason, cleanTyped, noteBody } from '../core/attribution.ts';
import {
  outboxKey,
  type QuestionFacts,
  questionDmItem,
  questionFacts,
  questionUpdateItem,
  threadReplyItem,
} from '../core/outbox.ts';
import type { NewOutboxItem, NewQuestion, Question } from '../core/records.ts';
import { newRef, truncate } from '../core/text.ts';
import { isCotoolError } from '../cotool/errors.ts';
import type { CotoolClient, SlackPerson, SlackView, SlackWorkspace } from '../ports.ts';
import type { AccessRefusal } from './access.ts';
import {
  type Actor,
  type FormLoad,
  fetchAlert,
  loadForForm,
  noteThread,
  type Place,
  type TriageDeps,
  type TriageFailure,
  withClaim,
} from './card-sync.ts';
import { afterWrite, dropIntent, finishChange, holdIntent, keepsIntent, writeOrReread } from './change-run.ts';

export type Answer = 'yes' | 'no';
export type { QuestionFacts };
/** How a question ended, as counted (cotool_slack_questions_total{outcome}). */
export type QuestionOutcome = 'asked' | 'yes' | 'no' | 'timed_out' | 'unreachable';

/** Why an address found in the alert cannot be asked. */
export type CandidateProblem = 'not_found' | NotAskable;
export type Candidate = {
  email: string;
  userId: string | null;
  name: string | null;
  problem: CandidateProblem | null;
};

/** The thread notes of a question (src/slack/views/next-move-notes.ts and the listener's bundle). */
export type AskUserViews = {
  askedNote(n: { displayId: string; askedBy: PersonRef; asked: PersonRef; deadline: number }): SlackView;
  answeredNote(n: { displayId: string; asked: PersonRef; answer: Answer; note?: string | null }): SlackView;
  timedOutNote(n: { displayId: string; asked: PersonRef; waitedMs: number }): SlackView;
};
export type PersonRef = { id: string | null; name?: string | null };

export type AskUserDeps = {
  /** The status change's ingredients (claim, read, write or re-read, card redraw, intents). */
  triage: TriageDeps;
  cotool: Pick<CotoolClient, 'addComment'>;
  workspace: Pick<SlackWorkspace, 'userByEmail' | 'user' | 'openDm'>;
  views: AskUserViews;
  /** ASK_USER_TIMEOUT_MINUTES in ms. */
  timeoutMs: number;
  /** The bot's own user (never asked; who asks automatically), null while unknown. */
  botUser: () => Promise<Actor | null>;
  /** Counts each question's steps. */
  onOutcome?: (outcome: QuestionOutcome) => void;
  /** Whether the route of an alert asks its user automatically (`ask_user: true`). */
  asksAutomatically?: (alert: Alert) => boolean;
  /** Pause between tries when an analyst's change holds the alert as No escalates it (default 500 ms). */
  busyRetryMs?: number;
};

export type CandidatesResult =
  | {
      ok: true;
      alert: Alert;
      actor: Actor;
      /** The card the question is about (its thread hears the answer), when known. */
      place: Place | null;
      candidates: Candidate[];
      /** Exactly one askable person found: their id. */
      preselect: string | null;
      /** Questions of this alert still waiting for an answer. */
      pending: Question[];
    }
  | TriageFailure;

export type AskInput = {
  alertId: string;
  /** The analyst asking. */
  userId: string;
  /** The person asked. */
  targetUserId: string;
  /** The analyst's words for the person, shown in the DM. */
  message?: string | null;
  /** The card the ask came from (its thread hears the answer); else the stored card's. */
  place?: Place | null;
};

export type AskRefusalCode = 'not_found' | 'deactivated' | 'bot' | 'guest' | 'dm_closed' | 'no_person';

export type AskResult =
  | { ok: true; question: NewQuestion; dmChannel: string; asked: SlackPerson; commented: boolean }
  | { ok: false; code: 'denied'; reason: AccessRefusal }
  /** The person cannot be asked; `detail`: Slack's refusal of the DM, when that was it. */
  | { ok: false; code: AskRefusalCode; person: SlackPerson | null; detail?: string }
  | { ok: false; code: 'already_asked'; question: Question | null; person: SlackPerson }
  /** The alert could not be read (Cotool refused or failed): nobody was asked. */
  | { ok: false; code: 'alert'; failure: TriageFailure }
  /** Slack failed unexpectedly (logged with `ref`). */
  | { ok: false; code: 'slack_error'; displayId: string; ref: string };

/** An ask checked at once: who asks, who is asked, their DM. */
export type PreparedAsk = { ok: true; asker: Actor; target: SlackPerson; dmChannel: string };

export type AnswerInput = { questionId: string; userId: string; answer: Answer; note?: string | null };

export type AnswerResult =
  | {
      ok: true;
      question: Question;
      commented: boolean;
      /** No: whether the alert was escalated now (false: it already was, or is closed), or why not. */
      escalation: EscalationOutcome | null;
    }
  | { ok: false; code: 'unknown_question' }
  | { ok: false; code: Exclude<AnswerCheck, { ok: true }>['code']; question: Question };

export type EscalationOutcome =
  | { ok: true; escalated: boolean; status: string }
  | { ok: false; code: TriageFailure['code']; ref?: string };

const NAME_MAX = 80;
/** What Slack's refusal to open a DM says of the person (anything else: their DMs are closed to the bot). */
const DM_REFUSED: Partial<Record<string, AskRefusalCode>> = {
  cannot_dm_bot: 'bot',
  user_disabled: 'deactivated',
  account_inactive: 'deactivated',
  user_not_found: 'not_found',
};
/** How long "this alert's user was asked automatically" is remembered. */
const AUTO_ASK_MEMORY_MS = 30 * 24 * 3_600_000;
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;
/** The analyst's words shown in the DM, at most. */
export const ASK_MESSAGE_MAX = 1_000;
const WORDS: Record<Answer, string> = { yes: 'Yes, it was me', no: 'No, it wasn’t me' };

/** "Jane Doe (<@U…>)": a person named in a Cotool comment or reason, safely (no markup from the name). */
export function personInText(p: { id: string; name: string }): string {
  const name =
    truncate(
      cleanTyped(p.name)
        .replace(/\s+/g, ' ')
        .replace(/[<>()]/g, ''),
      NAME_MAX,
    ) || 'a Slack user';
  return SLACK_USER_ID.test(p.id) ? `${name} (<@${p.id}>)` : name;
}

export type AskUserService = ReturnType<typeof createAskUser>;

export function createAskUser(deps: AskUserDeps) {
  const t = deps.triage;
  const log = t.logger.child({ module: 'ask-user' });
  const clock = t.clock;
  const count = (o: QuestionOutcome) => deps.onOutcome?.(o);

  async function botId(): Promise<string | undefined> {
    return (await deps.botUser().catch(() => null))?.id ?? undefined;
  }

  /** Each address looked up in Slack (at most MAX_ASKABLE_ADDRESSES, in parallel), and who can be asked. */
  async function lookUp(alert: Pick<Alert, 'id' | 'title' | 'description'>): Promise<Candidate[]> {
    const bot = await botId();
    return Promise.all(
      emailsIn(alert).map(async (email): Promise<Candidate> => {
        let person: SlackPerson | null;
        try {
          person = await deps.workspace.userByEmail(email);
        } catch (err) {
          log.warn(
            { alertId: alert.id, slackError: t.slack.classify(err).code },
            'could not look an address up in Slack',
          );
          person = null;
        }
        if (!person) return { email, userId: null, name: null, problem: 'not_found' };
        return { email, userId: person.id, name: person.name, problem: whyNotAskable(asAskable(person), bot) };
      }),
    );
  }

  /** The one askable person among the candidates, or null (none, or several different people). */
  function preselectOf(candidates: readonly Candidate[]): string | null {
    const ids = new Set(candidates.filter((c) => c.problem === null && c.userId).map((c) => c.userId as string));
    return ids.size === 1 ? ([...ids][0] as string) : null;
  }

  /** For the modal: access, the alert (a stale card redrawn), its addresses looked up, pending questions. */
  async function candidates(input: {
    alertId: string;
    expectedUpdatedAt: string;
    userId: string;
    clicked?: Place | null;
  }): Promise<CandidatesResult> {
    const loaded: FormLoad = await loadForForm(t, { ...input, what: 'opening the ask-user form' });
    if (!loaded.ok) return loaded;
    const found = await lookUp(loaded.alert);
    const pending = (await t.store.questionsOf(loaded.alert.id)).filter((q) => q.state === 'asked');
    return {
      ok: true,
      alert: loaded.alert,
      actor: loaded.actor,
      place: input.clicked ?? noteThread(loaded.record, null),
      candidates: found,
      preselect: preselectOf(found),
      pending,
    };
  }

  /**
   * What can be checked at once, before a modal's submission is acknowledged (Slack's 3 s): the
   * person (deactivated, bot, guest, unknown), and whether their DM opens.
   */
  async function checkTarget(
    askedBy: Actor,
    targetUserId: string,
    displayId: string,
  ): Promise<{ ok: true; asker: Actor; target: SlackPerson; dmChannel: string } | Exclude<AskResult, { ok: true }>> {
    if (!targetUserId) return { ok: false, code: 'no_person', person: null };
    let target: SlackPerson | null;
    try {
      target = await deps.workspace.user(targetUserId);
    } catch (err) {
      const ref = newRef();
      log.error({ ref, targetUserId, slackError: t.slack.classify(err).code }, 'could not read the person to ask');
      return { ok: false, code: 'slack_error', displayId, ref };
    }
    if (!target) return { ok: false, code: 'not_found', person: null };
    const problem = whyNotAskable(asAskable(target), await botId());
    if (problem) return { ok: false, code: problem, person: target };
    let dm: Awaited<ReturnType<SlackWorkspace['openDm']>>;
    try {
      dm = await deps.workspace.openDm(target.id);
    } catch (err) {
      const ref = newRef();
      log.error({ ref, targetUserId, slackError: t.slack.classify(err).code }, 'could not open a DM');
      return { ok: false, code: 'slack_error', displayId, ref };
    }
    if (!dm.ok) {
      log.info({ asked: target.id, slackError: dm.code }, 'Slack refused a DM with the person to ask');
      return { ok: false, code: DM_REFUSED[dm.code] ?? 'dm_closed', person: target, detail: dm.code };
    }
    return { ok: true, asker: askedBy, target, dmChannel: dm.channel };
  }

  /** An analyst's ask, the checks that answer at once (access, the person, their DM) only. */
  async function prepareAsk(input: {
    alertId: string;
    userId: string;
    targetUserId: string;
  }): Promise<PreparedAsk | Exclude<AskResult, { ok: true }>> {
    const decision = await t.access.check(input.userId);
    if (!decision.ok) return { ok: false, code: 'denied', reason: decision.reason };
    const displayId = (await t.store.get(input.alertId))?.displayId ?? input.alertId;
    return checkTarget({ id: input.userId, name: decision.user.name }, input.targetUserId, displayId);
  }

  /** The ask itself, once checked: the alert read, one Change (question, DM, thread note), the Cotool comment. */
  async function askPrepared(
    prepared: PreparedAsk,
    input: { alertId: string; message?: string | null; place?: Place | null },
  ): Promise<AskResult> {
    const displayId = (await t.store.get(input.alertId))?.displayId ?? input.alertId;
    const got = await fetchAlert(t, input.alertId, displayId, 'asking the user');
    if (!got.ok) return failureOf(got);
    return record(got.alert, prepared, { message: input.message ?? null, place: input.place ?? null });
  }

  async function record(
    alert: Alert,
    prepared: PreparedAsk,
    opts: { message?: string | null; place: Place | null },
  ): Promise<AskResult> {
    const { asker: askedBy, target, dmChannel } = prepared;
    const now = clock();
    const stored = await t.store.get(alert.id);
    const thread = opts.place ?? noteThread(stored, null);
    const q: NewQuestion = {
      id: randomUUID(),
      alertId: alert.id,
      displayId: alert.displayId,
      channel: thread?.channel ?? null,
      threadTs: thread?.ts ?? null,
      askedBy,
      askedUserId: target.id,
      askedAt: now,
      deadline: now + deps.timeoutMs,
    };
    const enqueue: NewOutboxItem[] = [
      questionDmItem(
        q,
        dmChannel,
        questionFacts(alert, truncate(cleanTyped(opts.message ?? ''), ASK_MESSAGE_MAX) || null),
        now,
      ),
    ];
    if (thread) {
      enqueue.push(
        threadReplyItem({
          key: outboxKey.questionNote(q.id, 'asked'),
          channel: thread.channel,
          threadTs: thread.ts,
          alertId: alert.id,
          view: deps.views.askedNote({ displayId: alert.displayId, askedBy, asked: target, deadline: q.deadline }),
          now,
        }),
      );
    }
    const applied = await t.store.apply([{ question: { op: 'ask', q }, enqueue }]);
    if (applied.conflicts > 0) {
      const pending = (await t.store.questionsOf(alert.id)).find(
        (x) => x.state === 'asked' && x.askedUserId === target.id,
      );
      log.info({ alertId: alert.id, asked: target.id, pending: pending?.id }, 'already asked; not asking again');
      return { ok: false, code: 'already_asked', question: pending ?? null, person: target };
    }
    count('asked');
    log.info(
      { alertId: alert.id, questionId: q.id, askedBy: askedBy.id, asked: target.id, deadline: q.deadline },
      'asked the person an alert names',
    );
    const commented = await comment(
      alert.id,
      askedBy,
      `Asked ${personInText(target)} in Slack whether this was them; answer due ${new Date(q.deadline).toISOString()}.`,
    );
    return { ok: true, question: q, dmChannel, asked: target, commented };
  }

  /** An analyst's ask, all of it (the modal's submission runs the two halves around its ack). */
  async function askUser(input: AskInput): Promise<AskResult> {
    const prepared = await prepareAsk(input);
    if (!prepared.ok) return prepared;
    return askPrepared(prepared, input);
  }

  /**
   * A route with `ask_user: true`: once its card is posted, the person is asked by the bot when
   * exactly one askable person is found in the alert (several, or none: nothing is asked).
   */
  async function askAutomatically(alert: Alert, place: Place): Promise<AskResult | { ok: false; code: 'no_one' }> {
    const bot = await deps.botUser().catch(() => null);
    if (!bot) return { ok: false, code: 'no_one' };
    const found = await lookUp(alert);
    const id = preselectOf(found);
    if (!id) {
      log.info({ alertId: alert.id, addresses: found.length }, 'route asks automatically: no single askable person');
      return { ok: false, code: 'no_one' };
    }
    const prepared = await checkTarget(bot, id, alert.displayId);
    if (!prepared.ok) return prepared;
    return record(alert, prepared, { place });
  }

  /**
   * A card was posted (the sender's word): when its route asks automatically and this is the alert's
   * primary card, its user is asked once (a key remembered in the store: a card posted again, or a
   * routed copy, does not ask twice). Never throws.
   */
  async function cardPosted(e: { cardKey: string; alert: Alert; channel: string; ts: string }): Promise<void> {
    const { alert } = e;
    if (e.cardKey !== alert.id || !isLive(alert.status) || !deps.asksAutomatically?.(alert)) return;
    try {
      if (!(await t.store.firstTime(`auto-ask:${alert.id}`, clock(), AUTO_ASK_MEMORY_MS))) return;
      const r = await askAutomatically(alert, { channel: e.channel, ts: e.ts });
      log.info({ alertId: alert.id, outcome: r.ok ? 'asked' : r.code }, 'route asks its user automatically');
    } catch (err) {
      log.warn({ alertId: alert.id, err }, 'could not ask the user automatically');
    }
  }

  /** Whether `userId` may answer the question now (for the Yes / No buttons, before the note modal). */
  async function answerable(
    questionId: string,
    userId: string,
  ): Promise<{ ok: true; question: Question } | Exclude<AnswerResult, { ok: true }>> {
    const q = await t.store.getQuestion(questionId);
    if (!q) return { ok: false, code: 'unknown_question' };
    const check = mayAnswer(q, userId);
    return check.ok ? { ok: true, question: q } : { ok: false, code: check.code, question: q };
  }

  /** The person's answer (Yes / No, an optional note): once, by them alone. */
  async function answerQuestion(input: AnswerInput): Promise<AnswerResult> {
    const q = await t.store.getQuestion(input.questionId);
    if (!q) return { ok: false, code: 'unknown_question' };
    const check = mayAnswer(q, input.userId);
    if (!check.ok) return { ok: false, code: check.code, question: q };
    const now = clock();
    const note = cleanTyped(input.note ?? '') || null;
    const who = await nameOf(input.userId);
    const answerer: Actor = { id: input.userId, name: who };
    const enqueue = settledItems(q, 'answered', now, () =>
      deps.views.answeredNote({ displayId: q.displayId, asked: answerer, answer: input.answer, note }),
    );
    const applied = await t.store.apply([
      { question: { op: 'answer', id: q.id, userId: input.userId, answer: input.answer, note, at: now }, enqueue },
    ]);
    if (applied.conflicts > 0) {
      const again = (await t.store.getQuestion(q.id)) ?? q;
      const recheck = mayAnswer(again, input.userId);
      log.info({ questionId: q.id, userId: input.userId, state: again.state }, 'an answer lost the race');
      return { ok: false, code: recheck.ok ? 'already_answered' : recheck.code, question: again };
    }
    count(input.answer);
    log.info({ questionId: q.id, alertId: q.alertId, userId: input.userId, answer: input.answer }, 'question answered');
    const answered: Question = { ...q, state: input.answer, note, answeredAt: now };
    const words = `Answered “${WORDS[input.answer]}” when ${personInText(q.askedBy)} asked in Slack whether this was them${note ? `: ${note}` : '.'}`;
    const commented = await comment(q.alertId, answerer, words);
    const escalation = input.answer === 'no' ? await escalate(answered, answerer, note) : null;
    return { ok: true, question: answered, commented, escalation };
  }

  /** No: the alert escalated, its reason naming the answer and the asker, like a status change from the card. */
  async function escalate(q: Question, answerer: Actor, note: string | null): Promise<EscalationOutcome> {
    const what = 'escalation after a No';
    const words = `answered “${WORDS.no}” when ${personInText(q.askedBy)} asked whether this was them${note ? `: ${note}` : ''}`;
    const { reason } = buildReason('escalated', answerer, words);
    for (let attempt = 0; ; attempt++) {
      const r = await withClaim(t, q.alertId, q.displayId, async (): Promise<EscalationOutcome> => {
        const got = await fetchAlert(t, q.alertId, q.displayId, what);
        if (!got.ok) return { ok: false, code: got.code, ...('ref' in got ? { ref: got.ref } : {}) };
        const before = got.alert;
        // Already escalated, or closed since (a No does not reopen it): nothing to change.
        if (before.status === 'escalated' || !isLive(before.status)) {
          log.info({ alertId: before.id, status: before.status }, 'a No did not escalate: the alert is not open');
          return { ok: true, escalated: false, status: before.status };
        }
        const start = { actor: answerer, before, timeline: got.timeline, record: got.record, clicked: null };
        const intent = await holdIntent(t, start, `question:${q.id}:escalation`, {
          status: 'escalated',
          by: answerer,
          reason: words,
          beforeUpdatedAt: before.updatedAt,
        });
        const sent = await writeOrReread(
          t,
          log,
          before,
          what,
          () => t.cotool.updateStatus(before.id, 'escalated', reason),
          {
            applied: (now) => now.status === 'escalated',
            answer: (now) => ({ alert: now, entry: null, statusChanged: true, alertComplete: true }),
          },
        );
        if (!sent.ok) {
          if (!keepsIntent(sent)) await dropIntent(t, intent);
          return { ok: false, code: sent.code, ...('ref' in sent ? { ref: sent.ref } : {}) };
        }
        const after = await afterWrite(t, log, before, sent.written, {}, what);
        if (!sent.written.statusChanged) {
          await dropIntent(t, intent);
          return { ok: true, escalated: false, status: after.status };
        }
        await finishChange(t, after, answerer, {
          clicked: null,
          replaces: intent,
          action: { kind: 'status', status: 'escalated' },
          reply: t.render.statusReply(after, { by: answerer, status: 'escalated', reason: words }),
          logDone: () =>
            log.info(
              { alertId: after.id, displayId: after.displayId, userId: answerer.id, questionId: q.id },
              'alert escalated: the person asked said it was not them',
            ),
        });
        return { ok: true, escalated: true, status: after.status };
      });
      // An analyst's change of the alert is in flight: the escalation waits for it (a few times).
      if (r.ok || r.code !== 'busy' || attempt >= 5) {
        if (!r.ok)
          log.error({ questionId: q.id, alertId: q.alertId, code: r.code }, 'a No could not escalate the alert');
        return r.ok ? r : { ok: false, code: r.code, ...('ref' in r && r.ref ? { ref: r.ref } : {}) };
      }
      await delay((deps.busyRetryMs ?? 500) * (attempt + 1));
    }
  }

  /**
   * The leader's sweep (each poll cycle): questions past their deadline on the database's clock are
   * timed out once each (a thread note, the DM redrawn). How many were timed out.
   */
  async function timeOutQuestions(limit = 50): Promise<number> {
    const due = await t.store.dueQuestions(limit);
    let done = 0;
    for (const q of due) {
      const now = clock();
      const asked = { id: q.askedUserId, name: null };
      const enqueue = settledItems(q, 'timed_out', now, () =>
        deps.views.timedOutNote({ displayId: q.displayId, asked, waitedMs: q.deadline - q.askedAt }),
      );
      const applied = await t.store.apply([{ question: { op: 'timeout', id: q.id, at: now }, enqueue }]);
      if (applied.conflicts > 0) continue;
      done++;
      count('timed_out');
      log.info({ questionId: q.id, alertId: q.alertId, asked: q.askedUserId }, 'a question timed out');
    }
    return done;
  }

  /** Once a question is settled: its DM redrawn, and a note in the card's thread. */
  function settledItems(q: Question, how: 'answered' | 'timed_out', now: number, view: () => SlackView) {
    const items: NewOutboxItem[] = q.dmChannel ? [questionUpdateItem(q, q.dmChannel, now)] : [];
    if (!q.channel || !q.threadTs) return items;
    const { channel, threadTs, alertId } = q;
    return [
      ...items,
      threadReplyItem({ key: outboxKey.questionNote(q.id, how), channel, threadTs, alertId, view: view(), now }),
    ];
  }

  async function comment(alertId: string, actor: Actor, words: string): Promise<boolean> {
    try {
      await deps.cotool.addComment(alertId, noteBody('note', actor, words));
      return true;
    } catch (err) {
      if (!isCotoolError(err)) throw err;
      log.warn({ alertId, err: err.toLog() }, 'could not record the question in Cotool (a comment)');
      return false;
    }
  }

  async function nameOf(userId: string): Promise<string> {
    try {
      return (await deps.workspace.user(userId))?.name ?? userId;
    } catch {
      return userId;
    }
  }

  return {
    candidates,
    prepareAsk,
    askPrepared,
    askUser,
    askAutomatically,
    cardPosted,
    answerable,
    answerQuestion,
    timeOutQuestions,
    lookUp,
  };
}

function asAskable(p: SlackPerson) {
  return {
    id: p.id,
    deleted: p.deleted,
    is_bot: p.isBot,
    is_restricted: p.isRestricted,
    is_ultra_restricted: p.isUltraRestricted,
  };
}

function failureOf(f: TriageFailure): AskResult {
  return f.code === 'denied' ? f : { ok: false, code: 'alert', failure: f };
}
