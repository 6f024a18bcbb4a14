/**
 * "Was this you?": a question's DM (question_dm), posted in the asked person's DM channel, and its
 * redraw once answered or timed out (question_update). A DM Slack refuses for good (DMs closed to
 * apps, a bot, a deactivated account) is not retried: the card's thread says the person could not
 * be reached, and the question is timed out at once (nobody waits for an answer that cannot come).
 */
import {
  type ItemOf,
  outboxKey,
  type QuestionFacts,
  questionFacts,
  questionUpdateItem,
  threadReplyItem,
} from '../../core/outbox.ts';
import type { Change, Question } from '../../core/records.ts';
import { EVENT_TYPES } from '../../ports.ts';
import type { Pacer } from '../pacer.ts';
import type { Outcome, Shared } from './shared.ts';

/** Slack's refusals of a DM that mean "this person cannot be reached" (not a failure of ours). */
export const DM_REFUSALS: ReadonlySet<string> = new Set([
  'messages_tab_disabled',
  'cannot_dm_bot',
  'user_disabled',
  'user_not_found',
  'user_not_visible',
  'account_inactive',
  'is_archived',
  'restricted_action',
]);

/**
 * The question's DM. Its place is saved with the question (its 'dm' write) as the item completes;
 * after an unknown outcome it is looked for first (it may be there, its buttons live). A question
 * timed out before its DM could go is not asked any more.
 */
export async function sendQuestionDm(s: Shared, item: ItemOf<'question_dm'>, pacer: Pacer): Promise<Outcome> {
  const { store, slack, log, clock, complete, retry } = s;
  const q = await store.getQuestion(item.data.questionId);
  if (!q || q.dmTs) return complete(item);
  const saved = (channel: string, ts: string): Change[] => [
    { question: { op: 'dm', id: q.id, channel, ts } },
    // Answered or timed out while the DM's answer was in doubt: redraw it as it is now.
    ...(q.state !== 'asked' ? [{ enqueue: [questionUpdateItem(q, channel, clock())] }] : []),
  ];
  if (item.unknown) {
    let ts: string | null = null;
    try {
      const found = await slack.findMessage({
        channel: item.channel,
        eventType: EVENT_TYPES.question,
        key: item.key,
        oldestMs: q.askedAt - 120_000,
      });
      if (found === 'unknown') return s.lookUpUnfinished(item);
      ts = found === 'absent' ? null : found.found;
    } catch (err) {
      const f = slack.classify(err, item.channel);
      if (f.code !== 'missing_scope') return s.failed(item, err, pacer, 'conversations.history');
      // Without `im:history` a DM cannot be looked for: sent again rather than the question left
      // unasked (a second copy's buttons answer the same question, once).
      log.warn({ questionId: q.id }, 'cannot look the question DM up (no im:history); sending it again');
    }
    if (ts) {
      log.info({ questionId: q.id }, 'found the question DM an earlier attempt posted; not posting again');
      return complete(item, saved(item.channel, ts));
    }
  }
  if (q.state !== 'asked') return complete(item);
  const render = s.deps.renderQuestion;
  if (!render) {
    log.error({ key: item.key }, 'no renderer for questions; will retry');
    return retry(item, 30 * s.retryBaseMs, item.unknown);
  }
  const view = render.dm(q, item.data.facts);
  const sent = await s.write(item, pacer, 'chat.postMessage', async () => {
    try {
      return await slack.post({
        ...view,
        channel: item.channel,
        metadata: {
          event_type: EVENT_TYPES.question,
          event_payload: { alert_id: q.alertId, question_id: q.id, key: item.key },
        },
      });
    } catch (err) {
      // The person cannot be reached: not a failure to retry (the question ends, the thread is told).
      const code = slack.classify(err, item.channel).code;
      if (DM_REFUSALS.has(code)) return { refused: code };
      throw err;
    }
  });
  if ('outcome' in sent) return sent.outcome;
  if ('refused' in sent.done) return unreachable(s, item, q, sent.done.refused);
  log.info({ questionId: q.id, alertId: q.alertId }, 'question DM posted');
  return complete(item, saved(sent.done.channel, sent.done.ts));
}

/** Slack will not deliver the DM: the card's thread hears it, and the question ends (timed out). */
async function unreachable(s: Shared, item: ItemOf<'question_dm'>, q: Question, code: string): Promise<Outcome> {
  const { log, clock, complete } = s;
  const now = clock();
  const render = s.deps.renderQuestion;
  const note =
    q.channel && q.threadTs && render
      ? [
          threadReplyItem({
            key: outboxKey.questionNote(q.id, 'unreachable'),
            channel: q.channel,
            threadTs: q.threadTs,
            alertId: q.alertId,
            view: render.unreachable(q, code),
            now,
          }),
        ]
      : [];
  log.warn(
    { questionId: q.id, alertId: q.alertId, slackError: code },
    'Slack refused the question DM; the person cannot be reached',
  );
  s.metrics.questions.inc({ outcome: 'unreachable' });
  return complete(item, [{ question: { op: 'timeout', id: q.id, at: now }, enqueue: note }]);
}

/** A question's DM redrawn as the question is now (answered, timed out: no buttons). */
export async function sendQuestionUpdate(s: Shared, item: ItemOf<'question_update'>, pacer: Pacer): Promise<Outcome> {
  const { store, slack, complete, retry, log } = s;
  const q = await store.getQuestion(item.data.questionId);
  if (!q) return complete(item);
  if (!q.dmTs || !q.dmChannel) {
    // Not posted yet: it is drawn as it is when it goes (or never, if the question ended first).
    const key = outboxKey.questionDm(q.id);
    const waiting = (await store.listOutbox({ kind: 'question_dm' })).some((i) => i.key === key);
    return waiting ? retry(item, 2_000, false) : complete(item);
  }
  const render = s.deps.renderQuestion;
  if (!render) return complete(item);
  // What the DM shows of the alert, read again (the question keeps only its ids).
  const alert = await s.fetchAlert(q.alertId);
  if (alert === null) return retry(item, s.backoff(item.attempts), false);
  const facts: QuestionFacts =
    alert === 'gone'
      ? {
          displayId: q.displayId,
          title: '',
          severity: null,
          createdAt: new Date(q.askedAt).toISOString(),
          facts: [],
          description: null,
        }
      : questionFacts(alert, null);
  const view = render.dm(q, facts);
  const { dmChannel: channel, dmTs: ts } = q;
  const r = await s.write(item, pacer, 'chat.update', () => slack.update({ ...view, channel, ts }));
  if ('outcome' in r) return r.outcome;
  log.debug({ questionId: q.id, state: q.state }, 'question DM redrawn');
  return complete(item);
}
