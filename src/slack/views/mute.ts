/**
 * Muting a noisy detection (issue 14): the modal, the channel announcement, the one quiet "muted"
 * message per mute (and the id lists in its thread), the expiry announcement with its tally, and the
 * list of mutes with Unmute (for `/cotool mutes` and the App Home). Pure: (mute, counts, now) → view.
 * Detection names and reasons are untrusted: names are escaped (a code span where they hold
 * formatting markers), reasons are block quotes.
 *
 *   🔇 @ana muted `Impossible travel` in this channel until Tue 14:00 (4 h):
 *   > pentest this afternoon
 *   🔇 `Impossible travel` is muted until 14:00 (by Ana): 212 alerts held back, 0 escalated.
 *   🔊 The mute of `Impossible travel` ended — muted 4 h: 212 alerts, 0 escalated.
 */
import type { Button, KnownBlock, ModalView, PlainTextOption } from '@slack/types';
import { DEFAULT_BREAK_THROUGH, MAX_MUTE_MS, MUTE_CHOICES, type MuteChoice, muteEnd } from '../../core/mutes.ts';
import { ACTIONS, BLOCKS, INPUTS, NEXT_BLOCKS, VIEWS } from '../ids.ts';
import { MUTE_ERRORS } from '../messages.ts';
import { encodeMuteMeta, encodeMuteRef, type MuteMeta } from '../payloads.ts';
import { literal, oneLine, plain, quote } from '../text.ts';
import type { CardView } from './alert-card.ts';
import { idListFits, renderIdSections } from './digest.ts';
import { channelLink, context, count, nameOf, plural, pt, section, span, when, who } from './next-move-parts.ts';
import { modalTitle, noticeBlock } from './triage-modal.ts';

/** A mute as the views need it (the store's record has at least these fields; times in epoch ms). */
export type MuteView = {
  id: string;
  channel: string;
  detectionName: string;
  by: { id: string; name: string };
  reason: string;
  createdAt: number;
  until: number;
  endedAt: number | null;
  endedBy: { id: string; name: string } | null;
  /** Alerts held back so far, and how many of them were escalated since. */
  muted: number;
  escalated: number;
};

export type MuteTally = { muted: number; escalated: number };
export type BreakThroughWords = { escalated: boolean; critical: boolean };

export const MUTE_REASON_MAX = 500;
/** Rows the mute list shows (the rest are counted). */
export const MUTE_LIST_MAX = 20;

const CHOICE_WORDS: Record<MuteChoice, string> = {
  '1h': '1 hour',
  '4h': '4 hours',
  '24h': '24 hours',
  until: 'Until a date and time…',
};

const detection = (name: string) => literal(name, 100) || 'this detection';

function breakThroughWords(b: BreakThroughWords): string {
  if (b.escalated && b.critical) return 'Escalated and critical alerts still get their card.';
  if (b.escalated) return 'Escalated alerts still get their card.';
  if (b.critical) return 'Critical alerts still get their card.';
  return 'Every alert of it is held back, escalated and critical ones included.';
}

// ---------------------------------------------------------------------------------------------
// The modal

export type MuteFormValues = {
  choice?: MuteChoice;
  /** The picked end (epoch ms), for `until`. */
  untilMs?: number | null;
  reason?: string;
};

export function muteModal(
  meta: MuteMeta,
  opts: { now: number; notice?: string; values?: MuteFormValues; breakThrough?: BreakThroughWords },
): ModalView {
  const option = (c: MuteChoice): PlainTextOption => ({ text: pt(CHOICE_WORDS[c]), value: c });
  const choice = opts.values?.choice ?? '1h';
  const untilMs = opts.values?.untilMs;
  const reason = opts.values?.reason?.slice(0, MUTE_REASON_MAX);
  const where = channelLink(meta.channel) ?? 'this channel';
  const summary = [
    `:mute: Mute ${detection(meta.detectionName)} in ${where}.`,
    'New alerts of it get no card of their own: one quiet message counts them and lists every id in its thread.',
    breakThroughWords(opts.breakThrough ?? DEFAULT_BREAK_THROUGH),
    `A mute lasts at most ${MAX_MUTE_MS / 86_400_000} days (until ${when(opts.now + MAX_MUTE_MS)} at the latest).`,
  ].join('\n');
  const blocks: KnownBlock[] = [
    ...noticeBlock(opts.notice),
    section(BLOCKS.muteSummary, summary),
    {
      type: 'input',
      block_id: BLOCKS.muteDuration,
      label: pt('For how long?'),
      element: {
        type: 'static_select',
        action_id: INPUTS.muteDuration,
        options: MUTE_CHOICES.map(option),
        initial_option: option(choice),
      },
    },
    {
      type: 'input',
      block_id: BLOCKS.muteUntil,
      optional: true,
      label: pt('Until'),
      hint: pt(`Only for “${CHOICE_WORDS.until}”: at most ${MAX_MUTE_MS / 86_400_000} days ahead.`),
      element: {
        type: 'datetimepicker',
        action_id: INPUTS.muteUntil,
        ...(untilMs && Number.isFinite(untilMs) ? { initial_date_time: Math.floor(untilMs / 1000) } : {}),
      },
    },
    {
      type: 'input',
      block_id: BLOCKS.muteReason,
      label: pt('Why?'),
      hint: pt(
        meta.alertId
          ? 'Shown in the channel with the mute, and saved in Cotool as a comment on the alert.'
          : 'Shown in the channel with the mute.',
      ),
      element: {
        type: 'plain_text_input',
        action_id: INPUTS.muteReason,
        multiline: true,
        max_length: MUTE_REASON_MAX,
        placeholder: pt('E.g. pentest this afternoon; known noisy rule being tuned'),
        ...(reason ? { initial_value: reason } : {}),
      },
    },
  ];
  return {
    type: 'modal',
    callback_id: VIEWS.muteModal,
    title: modalTitle('Mute detection', null),
    submit: pt('Mute'),
    close: pt('Cancel'),
    private_metadata: encodeMuteMeta(meta),
    blocks,
  };
}

type Values =
  | Record<
      string,
      Record<
        string,
        { value?: string | null; selected_option?: { value: string } | null; selected_date_time?: number | null }
      >
    >
  | undefined;

export type MuteForm =
  | { ok: true; choice: MuteChoice; until: number; reason: string }
  | { ok: false; errors: Record<string, string> };

const isChoice = (v: unknown): v is MuteChoice => MUTE_CHOICES.includes(v as MuteChoice);

/** Reads a submitted mute modal at `now`; errors keyed by block id, as Slack shows them inline. */
export function readMuteForm(values: Values, now: number): MuteForm {
  const errors: Record<string, string> = {};
  const picked = values?.[BLOCKS.muteDuration]?.[INPUTS.muteDuration]?.selected_option?.value;
  const at = values?.[BLOCKS.muteUntil]?.[INPUTS.muteUntil]?.selected_date_time;
  const reason = (values?.[BLOCKS.muteReason]?.[INPUTS.muteReason]?.value ?? '').trim();
  if (!reason) errors[BLOCKS.muteReason] = MUTE_ERRORS.reasonMissing;
  else if (reason.length > MUTE_REASON_MAX) errors[BLOCKS.muteReason] = MUTE_ERRORS.reasonTooLong(MUTE_REASON_MAX);
  let until: number | null = null;
  if (!isChoice(picked)) errors[BLOCKS.muteDuration] = MUTE_ERRORS.duration;
  else {
    const end = muteEnd(picked, now, typeof at === 'number' ? at * 1000 : null);
    if (end.ok) until = end.until;
    else if (end.code === 'missing') errors[BLOCKS.muteUntil] = MUTE_ERRORS.untilMissing;
    else if (end.code === 'in_the_past') errors[BLOCKS.muteUntil] = MUTE_ERRORS.inThePast;
    else errors[BLOCKS.muteUntil] = MUTE_ERRORS.tooLong(MAX_MUTE_MS / 86_400_000);
  }
  if (Object.keys(errors).length || until === null || !isChoice(picked)) return { ok: false, errors };
  return { ok: true, choice: picked, until, reason };
}

// ---------------------------------------------------------------------------------------------
// Messages

const reasonQuote = (reason: string) =>
  reason.trim() ? `\n${quote(reason, { maxChars: MUTE_REASON_MAX, maxLines: 8, max: 1_200 })}` : '';

/** In the channel: who muted what, until when, and why. */
export function muteAnnouncement(m: MuteView, opts: { breakThrough?: BreakThroughWords } = {}): CardView {
  const head = `:mute: ${who(m.by)} muted ${detection(m.detectionName)} in this channel until ${when(m.until)} (for ${span(m.until - m.createdAt)})`;
  return {
    text: `${nameOf(m.by)} muted ${detection(m.detectionName)} until ${when(m.until)}`,
    blocks: [
      section(NEXT_BLOCKS.muteAnnouncement, `${head}${m.reason.trim() ? ':' : '.'}${reasonQuote(m.reason)}`),
      context(NEXT_BLOCKS.muteContext, [
        `New alerts of it are counted in one quiet message, every id listed in its thread. ${breakThroughWords(opts.breakThrough ?? DEFAULT_BREAK_THROUGH)} \`/cotool mutes\` lists the mutes, each with *Unmute*.`,
      ]),
    ],
  };
}

/** The one quiet message per mute, redrawn as alerts are held back: no mention, no broadcast. */
export function mutedMessage(m: MuteView, tally: MuteTally): CardView {
  const ended = m.endedAt !== null;
  const state = ended
    ? `was muted until ${when(m.endedAt ?? m.until)}`
    : `is muted until ${when(m.until)} (by ${nameOf(m.by)})`;
  const counts = `*${plural(tally.muted, 'alert')}* held back, ${count(tally.escalated)} escalated`;
  const ids = tally.muted > 0 ? ' Every id is listed in this thread.' : '';
  const line = `:mute: ${detection(m.detectionName)} ${state}: ${counts}.${ids}`;
  return {
    text: `${detection(m.detectionName)} ${ended ? 'was muted' : 'is muted'}: ${plural(tally.muted, 'alert')} held back`,
    blocks: [section(NEXT_BLOCKS.muted, line)],
  };
}

const muteIdHead = (from: number, n: number) =>
  `:ledger: Muted alert ids, ${count(from)}–${count(from + n - 1)} (in the order they came):`;

/** How many of `ids` one id-list reply holds (the head is no longer than the storm's). */
export const muteIdListFits = (ids: readonly string[]): number => idListFits(ids);

/** A reply in the muted message's thread: the ids held back, numbers `from` (1-based) onward, as code spans. */
export function muteIdList(_m: MuteView, ids: readonly string[], from = 1): CardView {
  return renderIdSections(ids, muteIdHead(from, ids.length), NEXT_BLOCKS.muteIds);
}

/** In the channel when a mute ends: "muted 4 h: 212 alerts, 0 escalated", and who unmuted it if early. */
export function muteEnded(m: MuteView, tally: MuteTally): CardView {
  const end = m.endedAt ?? m.until;
  const early = m.endedBy !== null && end < m.until;
  const tallyText = `muted ${span(end - m.createdAt)}: ${plural(tally.muted, 'alert')}, ${count(tally.escalated)} escalated`;
  const head = early
    ? `:loud_sound: ${who(m.endedBy ?? { id: null })} unmuted ${detection(m.detectionName)} — ${tallyText}.`
    : `:loud_sound: The mute of ${detection(m.detectionName)} ended — ${tallyText}.`;
  return {
    text: `${detection(m.detectionName)} is no longer muted — ${tallyText}`,
    blocks: [section(NEXT_BLOCKS.muteEnded, `${head} New alerts of it get their card again.`)],
  };
}

function unmuteButton(m: MuteView): Button | null {
  let value: string;
  try {
    value = encodeMuteRef({ v: 1, muteId: m.id });
  } catch {
    return null; // an id that cannot travel in a button: the row is shown without it
  }
  const name = plain(oneLine(m.detectionName) || 'this detection', 60);
  return {
    type: 'button',
    action_id: ACTIONS.unmute,
    text: pt('Unmute'),
    value,
    confirm: {
      title: pt('Unmute?'),
      text: pt(`New alerts of ${name} will get their card again.`),
      confirm: pt('Unmute'),
      deny: pt('Cancel'),
    },
  };
}

/**
 * The mutes holding now, each with Unmute, newest first; an empty state when there are none.
 * `blockPrefix` keeps block ids unique where the list is part of a larger surface (App Home).
 */
export function muteList(
  mutes: readonly MuteView[],
  now: number,
  opts: { blockPrefix?: string; max?: number } = {},
): CardView {
  const prefix = opts.blockPrefix ?? '';
  const max = Math.max(1, opts.max ?? MUTE_LIST_MAX);
  const live = mutes.filter((m) => m.endedAt === null && now < m.until).sort((a, b) => b.createdAt - a.createdAt);
  if (live.length === 0) {
    return {
      text: 'No detection is muted.',
      blocks: [
        section(
          `${prefix}${NEXT_BLOCKS.muteListEmpty}`,
          '*Muted detections* — none. *Mute detection…* on an alert card or a digest group mutes one.',
        ),
      ],
    };
  }
  const blocks: KnownBlock[] = [
    section(`${prefix}${NEXT_BLOCKS.muteListHeader}`, `*Muted detections* — ${count(live.length)}`),
  ];
  for (const [i, m] of live.slice(0, max).entries()) {
    const where = channelLink(m.channel);
    const line = `${detection(m.detectionName)}${where ? ` in ${where}` : ''} · until ${when(m.until)} (${span(m.until - now)} left) · by ${nameOf(m.by)}\n${count(m.muted)} held back, ${count(m.escalated)} escalated`;
    const row: KnownBlock = section(`${prefix}${NEXT_BLOCKS.muteListRow}${i}`, `${line}${reasonQuote(m.reason)}`);
    const button = unmuteButton(m);
    blocks.push(button ? { ...row, accessory: button } : row);
  }
  if (live.length > max) {
    blocks.push(context(`${prefix}${NEXT_BLOCKS.muteListMore}`, [`+${count(live.length - max)} more not shown.`]));
  }
  return { text: `${plural(live.length, 'detection')} muted`, blocks };
}
