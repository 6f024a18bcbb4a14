/**
 * The answer to `/cotool COT-123`: the alert card exactly as the channel shows it (same buttons,
 * same payloads), its description at length, the recent timeline, and "Share in channel". Also the
 * card as shared into a channel, and the short answers (not found, no alert for a run). Pure.
 */
import type { ActionsBlock, ContextBlock, KnownBlock } from '@slack/types';
import type { AlertWithTimeline, TimelineEntry } from '../../core/alert.ts';
import type { LastAction } from '../../core/records.ts';
import { latestVerdict } from '../../core/verdict.ts';
import { ACTIONS, BLOCKS, LOOKUP_BLOCKS, OPS } from '../ids.ts';
import { encodeAction } from '../payloads.ts';
import { LIMITS, mrkdwn, oneLine, slackDate } from '../text.ts';
import { type CardContext, type CardView, descriptionBlock, renderAlertCard } from './alert-card.ts';
import { renderTimeline } from './timeline.ts';

export const DESCRIPTION_MAX_CHARS = 2_500;
const DESCRIPTION_MAX_LINES = 40;
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;

export type LookupContext = {
  alertUrl: string | null;
  lastAction: LastAction | null;
  /** CLOSE_REASON_REQUIRED: the card's close buttons open the reason form (no confirm dialog of their own). */
  closeOpensForm: boolean;
  /** A line of our own above the card (trusted mrkdwn), e.g. which run raised the alert. */
  notice?: string | null;
};

const md = (text: string) => ({ type: 'mrkdwn' as const, text, verbatim: true });

/** Who escalated and why, read off the newest status change to `escalated`. */
export function escalationFrom(alert: AlertWithTimeline): CardContext['escalation'] {
  if (alert.status !== 'escalated') return null;
  const entry = [...alert.timeline]
    .filter((e) => e.kind === 'status_change' && e.afterStatus === 'escalated')
    .sort((a, b) => (Date.parse(b.createdAt) || 0) - (Date.parse(a.createdAt) || 0))[0];
  if (!entry) return null;
  const reason = entry.bodyMarkdown ?? (typeof entry.metadata?.reason === 'string' ? entry.metadata.reason : null);
  return { by: actorName(entry), reason, at: entry.createdAt };
}

function actorName(e: TimelineEntry): string | null {
  if (e.actorType === 'agent') return e.actorAgentName ?? null;
  if (e.actorType === 'human') return e.actorUserName ?? null;
  return e.actorType === 'system' ? 'Cotool' : (e.actorUserName ?? e.actorAgentName ?? null);
}

function longDescription(alert: AlertWithTimeline): KnownBlock | null {
  return descriptionBlock(LOOKUP_BLOCKS.description, alert.description, {
    maxChars: DESCRIPTION_MAX_CHARS,
    maxLines: DESCRIPTION_MAX_LINES,
  });
}

function shareBlock(alert: AlertWithTimeline): ActionsBlock | null {
  let value: string;
  try {
    value = encodeAction({ v: 1, op: OPS.share, id: alert.id, u: alert.updatedAt });
  } catch {
    return null; // an id that cannot travel in a payload: the card already says buttons are unavailable
  }
  return {
    type: 'actions',
    block_id: LOOKUP_BLOCKS.actions,
    elements: [
      {
        type: 'button',
        action_id: ACTIONS.share,
        text: { type: 'plain_text', text: 'Share in channel', emoji: true },
        value,
      },
    ],
  };
}

/** The live card's view, as a channel shows it. */
function liveCard(alert: AlertWithTimeline, ctx: Omit<LookupContext, 'notice'>): CardView {
  const { alertUrl, closeOpensForm, lastAction } = ctx;
  const [escalation, verdict] = [escalationFrom(alert), latestVerdict(alert.timeline)];
  return renderAlertCard(alert, { alertUrl, interactive: true, closeOpensForm, lastAction, escalation, verdict });
}

/** The ephemeral look-up answer (at most ~22 blocks). */
export function renderLookup(alert: AlertWithTimeline, ctx: LookupContext): CardView {
  const card = liveCard(alert, ctx);
  const long = longDescription(alert);
  const cardBlocks = card.blocks.flatMap((b): KnownBlock[] => {
    if (b.block_id !== BLOCKS.cardDescription) return [b];
    return long ? [long] : [];
  });
  const notice: ContextBlock | null = ctx.notice
    ? { type: 'context', block_id: LOOKUP_BLOCKS.notice, elements: [md(ctx.notice)] }
    : null;
  const share = shareBlock(alert);
  const blocks: KnownBlock[] = [
    ...(notice ? [notice] : []),
    ...cardBlocks,
    ...renderTimeline(alert.timeline),
    ...(share ? [share] : []),
  ];
  return { text: card.text, blocks: blocks.slice(0, LIMITS.messageBlocks) };
}

/** The card posted into a channel by "Share in channel": the live card's view, plus who shared it. */
export function renderSharedCard(
  alert: AlertWithTimeline,
  ctx: Omit<LookupContext, 'notice'> & { sharedBy: string; at: string },
): CardView {
  const card = liveCard(alert, ctx);
  const who = SLACK_USER_ID.test(ctx.sharedBy) ? `<@${ctx.sharedBy}>` : 'someone';
  const shared: ContextBlock = {
    type: 'context',
    block_id: LOOKUP_BLOCKS.sharedBy,
    elements: [md(`:mag: Shared by ${who} from a /cotool look-up · ${slackDate(ctx.at)} · not updated live`)],
  };
  return { text: card.text, blocks: [...card.blocks, shared].slice(0, LIMITS.messageBlocks) };
}

/** A short answer of our own wording as text and one section. `text` is trusted mrkdwn. */
export function textAnswer(text: string): CardView {
  return {
    text,
    blocks: [{ type: 'section', block_id: LOOKUP_BLOCKS.notice, text: md(text) }],
  };
}

export function notFoundAnswer(ref: string): CardView {
  const id = mrkdwn(oneLine(ref), 80);
  return textAnswer(
    `:grey_question: ${id} was not found in Cotool. Check the id, or search for it: \`/cotool search okta push\`.`,
  );
}

export function noAlertForRunAnswer(runId: string): CardView {
  return textAnswer(`:grey_question: No alert is linked to run \`${mrkdwn(oneLine(runId), 80)}\`.`);
}

/** The line above a run's alert. */
export function runNotice(runId: string): string {
  return `:link: Alert raised by run \`${mrkdwn(oneLine(runId), 80)}\``;
}

/** What the user sees while Cotool is asked (the command's ack). */
export function progressText(what: string): string {
  return `:hourglass_flowing_sand: ${mrkdwn(oneLine(what), 200)}…`;
}
