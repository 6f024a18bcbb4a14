/**
 * User-facing wording shared by every surface (buttons, modals, commands, App Home). Untrusted
 * values are escaped here; the text returned is mrkdwn ready for an ephemeral message.
 */
import { newRef } from '../core/text.ts';
import { statusDone } from '../core/verdict.ts';
import { type CotoolError, classifyCotoolError } from '../cotool/errors.ts';
import type { AccessRefusal } from '../service/access.ts';
import { literal, mrkdwn, oneLine } from './text.ts';
import { STATUS_LABEL } from './views/labels.ts';

export { newRef };

export function accessRefused(reason: AccessRefusal, who: string): string {
  switch (reason) {
    case 'guest':
      return ':no_entry: Guest accounts cannot see or change Cotool alerts.';
    case 'not_allowed':
      return `:no_entry: You are not allowed to see or change Cotool alerts. Allowed: ${who}.`;
    case 'not_channel_member':
      return `:no_entry: Only ${who} can see or change Cotool alerts. Ask to be added to the channel.`;
    case 'unknown_user':
      return ':no_entry: Slack could not tell who you are, so nothing was done.';
    case 'lookup_failed':
      return ':warning: Slack did not answer when checking your access, so nothing was done. Try again in a moment.';
  }
}

/** What to tell a user when a Cotool call failed; `changing` says whether anything was attempted. */
export function cotoolFailed(
  err: CotoolError,
  ref: string,
  opts: { alertRef?: string; changing?: boolean } = {},
): string {
  const subject = opts.alertRef ? mrkdwn(oneLine(opts.alertRef), 100) : 'The alert';
  const nothing = opts.changing ? ' Nothing was changed.' : '';
  switch (classifyCotoolError(err)) {
    case 'not_found':
      return `:grey_question: ${subject} was not found in Cotool (it may have been deleted).`;
    case 'forbidden': {
      const perms = err.missingPerms?.length ? err.missingPerms.map((p) => `\`${mrkdwn(p, 60)}\``).join(', ') : null;
      return perms
        ? `:lock: The Cotool API key lacks ${perms}. Ask a Cotool admin to grant it.${nothing}`
        : `:lock: Cotool refused the bot's API key for this (403).${nothing} (ref \`${ref}\`)`;
    }
    case 'unauthorized':
      return `:lock: Cotool rejected the bot's API key (401): an admin must check COTOOL_API_KEY.${nothing} (ref \`${ref}\`)`;
    case 'invalid': {
      const why = err.apiMessage ? mrkdwn(oneLine(err.apiMessage), 500) : 'the request was not valid';
      return `:warning: Cotool did not accept that: ${why}.${nothing}`;
    }
  }
  return opts.changing
    ? `:warning: Cotool did not answer — nothing was changed. Try again in a moment. (ref \`${ref}\`)`
    : `:warning: Cotool did not answer. Try again in a moment. (ref \`${ref}\`)`;
}

export function unexpectedError(ref: string): string {
  return `:warning: Something went wrong on our side; nothing was changed. (ref \`${ref}\`)`;
}

// ---------------------------------------------------------------------------------------------
// Triage from the card: buttons, the reason modal and the edit modal.

/** "closed as false positive", "escalated"… for a status; an unknown status is named as sent. */
export function statusPhrase(status: string): string {
  return statusDone(status) ?? `set to ${mrkdwn(oneLine(status), 40)}`;
}

/** The card's status labels, looked up by any status string. */
const STATUS_NAME: Record<string, string> = STATUS_LABEL;

/** "Open", "Closed · Benign"… as the card shows it; an unknown status is named as sent (escaped). */
export function statusName(status: string): string {
  return STATUS_NAME[status] ?? (mrkdwn(oneLine(status), 40) || 'Unknown');
}

const idText = (displayId: string) => `*${mrkdwn(oneLine(displayId), 40) || 'The alert'}*`;
const byText = (by: string | null | undefined) => (by?.trim() ? ` by ${mrkdwn(oneLine(by), 80)}` : '');

/** A button value or form that does not decode: a card from an older release, or a tampered value. */
export function cardOutOfDate(): string {
  return ":hourglass: This card is out of date, so nothing was done. Use the alert's latest card in the channel, or look it up with `/cotool COT-…`.";
}

/** Someone else's change of this alert is in flight. */
export function alertBusy(displayId: string): string {
  return `:hourglass_flowing_sand: ${idText(displayId)} is already being changed by someone else. Nothing was done; check the card in a moment.`;
}

/**
 * The card was drawn from an older version of the alert. `now` is the alert's status now, `before`
 * the status the card showed (null when unknown), `by` who made the change, when known.
 */
export function staleCard(
  displayId: string,
  change: { now: string; before: string | null; by: string | null },
): string {
  const what =
    change.before !== null && change.before === change.now
      ? 'was updated'
      : `was ${statusPhrase(change.now)}${byText(change.by)}`;
  return `:arrows_counterclockwise: ${idText(displayId)} ${what} since this card was drawn, so nothing was changed. The card now shows the alert as it is; look again before you act.`;
}

/** The alert already had the status asked for. */
export function alreadyInStatus(displayId: string, status: string, by: string | null): string {
  return `:information_source: ${idText(displayId)} is already ${statusPhrase(status)}${byText(by)}. Nothing was changed.`;
}

/** A closed alert: the close form is not offered. */
export function alreadyClosed(displayId: string, status: string, by: string | null): string {
  return `:information_source: ${idText(displayId)} is already ${statusPhrase(status)}${byText(by)}. Reopen it first to close it another way.`;
}

/** The status change went through. */
export function statusChangedNote(displayId: string, status: string): string {
  return `:white_check_mark: ${idText(displayId)} ${statusPhrase(status)}. The card and its thread are updated.`;
}

/** The analyst's words did not fit Cotool's 2,000-character reason. */
export function reasonShortened(kept: number): string {
  return `:scissors: Your reason was shortened to its first ${kept.toLocaleString('en-US')} characters to fit Cotool's 2,000-character limit; the change was made.`;
}

/** Cotool made the change but Slack would not take the card update. */
export function cardNotUpdated(displayId: string): string {
  return `:warning: ${idText(displayId)} was changed in Cotool, but Slack did not take the card update; the card will catch up within a minute.`;
}

/** A timeout or 5xx on a write, and the re-read that should have told what happened failed too. */
export function outcomeUnknown(displayId: string, ref: string): string {
  return `:warning: Cotool did not answer, and it could not be checked whether ${idText(displayId)} was changed. Look at the alert in Cotool before trying again. (ref \`${ref}\`)`;
}

/** The edit form was submitted without a change. */
export function nothingToSave(displayId: string): string {
  return `:information_source: Nothing to save: ${idText(displayId)} already has that title and description.`;
}

/** The edit went through; `parts` names what changed ("the title", "the description"). */
export function detailsSavedNote(displayId: string, parts: readonly string[]): string {
  return `:white_check_mark: Saved ${parts.join(' and ')} of ${idText(displayId)}. The card and its thread are updated.`;
}

/** What the analyst typed, quoted back when their change was refused, so it is not lost. */
export function yourWords(label: string, words: string): string {
  const text = words.trim();
  if (!text) return '';
  const lines = mrkdwn(text, 2_500)
    .split('\n')
    .slice(0, 30)
    .map((l) => `>${l}`);
  return `\n${label}:\n${lines.join('\n')}`;
}

/** Inline errors of the triage modals. */
export const FORM_ERRORS = {
  dispositionMissing: 'Choose how to close the alert.',
  reasonMissing: 'Write a reason (or use the one-click close buttons on the card).',
  reasonTooLong: (max: number) => `At most ${max.toLocaleString('en-US')} characters.`,
  titleMissing: 'The title cannot be empty.',
  titleTooLong: (max: number, now: number) =>
    `At most ${max.toLocaleString('en-US')} characters (now ${now.toLocaleString('en-US')}).`,
  descriptionTooLong: (max: number) => `At most ${max.toLocaleString('en-US')} characters.`,
} as const;

/** A form submitted after the alert changed: it is shown again, as the alert is now. */
export function staleForm(displayId: string, change: { now: string; by: string | null }): string {
  return `:arrows_counterclockwise: ${idText(displayId)} changed since you opened this form (it is now ${statusName(change.now)}${byText(change.by)}), so nothing was saved. Check it below and submit again.`;
}

/** A form could not be opened in time (its trigger expired). */
export function formNotOpened(): string {
  return ':warning: Slack did not open the form in time, so nothing was done. Click again.';
}

// ---------------------------------------------------------------------------------------------
// Notes from Slack (comments in Cotool).

/** A note was saved as a comment in Cotool. */
export function noteSaved(displayId: string, opts: { replied: boolean | null; cut: boolean }): string {
  const where = opts.replied ? ' and noted in the card’s thread' : '';
  const cut = opts.cut ? ' It was shortened to fit Cotool’s 20,000 characters.' : '';
  return `:white_check_mark: Saved your note on ${idText(displayId)} in Cotool${where}.${cut}`;
}

/**
 * A note Cotool refused or did not take. `mayHaveSaved`: the answer was lost after it was sent, so
 * it may be there already (it is not sent again: that could write it twice).
 */
export function noteFailed(err: CotoolError, ref: string, opts: { displayId: string; mayHaveSaved: boolean }): string {
  if (opts.mayHaveSaved) {
    return `:warning: Cotool did not answer, so it is not known whether your note on ${idText(opts.displayId)} was saved. Check the alert in Cotool before adding it again. (ref \`${ref}\`)`;
  }
  return `${cotoolFailed(err, ref, { alertRef: opts.displayId })} Your note was not saved.`;
}

// ---------------------------------------------------------------------------------------------
// The storm digest: Show alerts and Close all as false positive.

/** A digest button or form whose value does not decode (an older release's, or tampered). */
export function digestOutOfDate(): string {
  return ":hourglass: This digest button is out of date, so nothing was done. Use the storm's latest digest in the channel.";
}

/** The storm (or the group) a digest button names is not known to the bot. */
export function stormNotFound(): string {
  return ':grey_question: The bot no longer knows this storm or group, so nothing was done. Use `/cotool list` to find live alerts.';
}

/** How a digest group is named in notes: its (escaped) name in bold. */
export function groupText(groupKey: string, name: string): string {
  if (groupKey === 'escalated') return '*Escalated*';
  return `*${mrkdwn(oneLine(name), 150) || 'this group'}*`;
}

export type BulkTallyWords = {
  state: 'running' | 'done';
  by: { name: string };
  total: number;
  closed: number;
  alreadyClosed: number;
  changedSince: number;
  failed: { displayId: string; why: string }[];
  startedAt: number;
  finishedAt: number | null;
};

const count = (n: number) => n.toLocaleString('en-US');
const when = (ms: number) => {
  const seconds = Math.floor(ms / 1000);
  return `<!date^${seconds}^{date_short_pretty} at {time}|${new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC>`;
};

/** "Closed 57 · already closed 2 · changed since 1 · failed 0". */
export function tallyCounts(t: BulkTallyWords): string {
  return `Closed ${count(t.closed)} · already closed ${count(t.alreadyClosed)} · changed since ${count(t.changedSince)} · failed ${count(t.failed.length)}`;
}

/** A second submit: the group was closed in bulk already, or is being closed now. */
export function bulkAlready(group: string, t: BulkTallyWords): string {
  const by = mrkdwn(oneLine(t.by.name), 80) || 'someone';
  const done = t.closed + t.alreadyClosed + t.changedSince + t.failed.length;
  if (t.state === 'running') {
    return `:hourglass_flowing_sand: ${group} is already being closed as false positive by ${by} (started ${when(t.startedAt)}; ${count(done)}/${count(t.total)} so far). Nothing more was done; the digest shows the progress.`;
  }
  return `:information_source: ${group} was already closed as false positive by ${by} ${when(t.finishedAt ?? t.startedAt)}: ${tallyCounts(t)}. Nothing more was done. Alerts left open are in *Show alerts*.`;
}

/** Someone else's submit claimed the group a moment ago. */
export function bulkBusy(group: string): string {
  return `:hourglass_flowing_sand: ${group} is being closed by someone else right now. Nothing more was done; the digest shows the progress.`;
}

export function bulkNothingLive(group: string): string {
  return `:information_source: Every alert of ${group} is already closed. Nothing was done.`;
}

/** The outcome of a bulk close, with the ids that failed and why (at most `maxFailed` listed). */
export function bulkDone(group: string, t: BulkTallyWords, opts: { maxFailed?: number } = {}): string {
  const max = opts.maxFailed ?? 20;
  const mark = t.failed.length || t.changedSince ? ':warning:' : ':white_check_mark:';
  const lines = [`${mark} ${group}: closed as false positive — ${tallyCounts(t)}. The digest shows the tally.`];
  if (t.changedSince) {
    lines.push(
      `${count(t.changedSince)} changed since the digest was drawn and were left open for someone to look at (*Show alerts*).`,
    );
  }
  if (t.failed.length) {
    const shown = t.failed
      .slice(0, max)
      .map((f) => `• ${mrkdwn(oneLine(f.displayId), 40)}: ${mrkdwn(oneLine(f.why), 200)}`);
    const more = t.failed.length > max ? [`…and ${count(t.failed.length - max)} more (the digest lists them).`] : [];
    lines.push('Not closed:', ...shown, ...more);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The next moves (issue 14): ask the user, take it, mute a detection, open a war room.

/** Slack's verdict on the person picked (src/core/ask-user.ts), or why they cannot be reached. */
export type AskRefusal =
  | 'no_address'
  | 'several'
  | 'not_found'
  | 'deactivated'
  | 'bot'
  | 'guest'
  | 'dm_closed'
  | 'already_asked';

/** `<@U…>` for a Slack user id we can vouch for (a validated id), else the escaped name in bold. */
export function personText(p: { id: string | null; name?: string | null }): string {
  if (p.id && /^[UW][A-Z0-9]{2,20}$/.test(p.id)) return `<@${p.id}>`;
  return `*${mrkdwn(oneLine(p.name ?? ''), 80) || 'that person'}*`;
}

/** An address shown as a code span so it copies out intact (escaped; one holding a backtick as text). */
export function addressText(email: string): string {
  const one = oneLine(email) || '?';
  return one.includes('`') ? mrkdwn(one, 120) : `\`${mrkdwn(one, 118)}\``;
}

/**
 * Why the analyst's "Ask the user…" did not go out, or needs their choice. `email`: the address in
 * question (not_found), `addresses`: those found (several), `person`: who was picked, `askedBy` /
 * `deadline`: the pending question (already_asked).
 */
export function askRefused(
  code: AskRefusal,
  opts: {
    displayId?: string;
    email?: string;
    addresses?: readonly string[];
    person?: { id: string | null; name?: string | null };
    askedBy?: { id: string | null; name?: string | null };
    deadline?: number;
  } = {},
): string {
  const who = opts.person ? personText(opts.person) : 'that person';
  const id = idText(opts.displayId ?? '');
  switch (code) {
    case 'no_address':
      return `:mag: No e-mail address in ${id}: pick the person to ask.`;
    case 'several': {
      const list = (opts.addresses ?? []).slice(0, 5).map(addressText).join(', ');
      return `:busts_in_silhouette: ${id} names several people${list ? ` (${list})` : ''}: pick the one to ask.`;
    }
    case 'not_found':
      return `:grey_question: ${opts.email ? addressText(opts.email) : 'That address'} is not the e-mail of anyone in this Slack workspace: pick the person to ask.`;
    case 'deactivated':
      return `:no_entry: ${who}'s Slack account is deactivated, so they cannot be asked. Pick someone else.`;
    case 'bot':
      return `:robot_face: ${who} is a bot, not a person: pick someone else.`;
    case 'guest':
      return `:no_entry: ${who} is a guest account; the bot does not send alert details to guests. Pick someone else.`;
    case 'dm_closed':
      return `:no_bell: Slack would not let the bot message ${who} (direct messages are closed to it). Nothing was sent; ask them another way.`;
    case 'already_asked': {
      const by = opts.askedBy ? ` by ${personText(opts.askedBy)}` : '';
      const until = opts.deadline !== undefined ? `; they have until ${when(opts.deadline)} to answer` : '';
      return `:hourglass_flowing_sand: ${who} was already asked about ${id}${by}${until}. Their answer will appear in the card's thread.`;
    }
  }
}

/**
 * What a Slack error on looking the person up or opening the DM means for the analyst (null: not
 * about the person — a transient or operator error, told as such by the caller).
 */
export function askRefusalOf(slackError: string): AskRefusal | null {
  switch (slackError) {
    case 'users_not_found':
    case 'user_not_found':
      return 'not_found';
    case 'user_disabled':
    case 'account_inactive':
      return 'deactivated';
    case 'cannot_dm_bot':
      return 'bot';
    case 'cannot_dm_user':
    case 'messages_tab_disabled':
    case 'not_allowed':
    case 'user_not_visible':
      return 'dm_closed';
    default:
      return null;
  }
}

/** The question went out. */
export function askSent(
  displayId: string,
  person: { id: string | null; name?: string | null },
  deadline: number,
): string {
  return `:speech_balloon: Asked ${personText(person)} about ${idText(displayId)}. Their answer (or silence by ${when(deadline)}) will appear in the card's thread.`;
}

/** Why the person who clicked Yes / No was not heard. */
export function answerRefused(code: 'not_yours' | 'already_answered' | 'timed_out', answered?: 'yes' | 'no'): string {
  switch (code) {
    case 'not_yours':
      return ':no_entry: This question was put to someone else, so only they can answer it.';
    case 'already_answered':
      return `:information_source: You already answered this question${answered ? ` (${answered === 'yes' ? '“Yes, it was me”' : '“No, it wasn’t me”'})` : ''}. Nothing more was recorded.`;
    case 'timed_out':
      return ':hourglass: This question timed out, so the answer was not recorded. If it matters, tell the security team directly.';
  }
}

/** A question's button or form that does not decode, or a question the bot does not know. */
export function questionOutOfDate(): string {
  return ':hourglass: This question is out of date, so nothing was recorded. If it matters, tell the security team directly.';
}

/** "I'll take it" on an alert someone already owns. */
export function alreadyTaken(displayId: string, owner: { id: string | null; name?: string | null }): string {
  return `:information_source: ${personText(owner)} already took ${idText(displayId)}. Nothing was changed.`;
}

/** Why the war room was not opened, or where it is. */
export function warRoomRefused(
  code: 'restricted' | 'name_taken' | 'exists',
  opts: { tries?: number; channel?: string | null } = {},
): string {
  switch (code) {
    case 'restricted':
      return ':no_entry: This workspace does not let the bot create channels (`restricted_action`). Ask a Slack admin to allow it, or create the channel by hand.';
    case 'name_taken':
      return `:warning: Every channel name tried for this alert was taken (${count(opts.tries ?? 0)} tries), so no channel was created. Create one by hand or rename an old one.`;
    case 'exists':
      return `:information_source: The incident channel for this alert is already open: ${channelText(opts.channel ?? null)}.`;
  }
}

/** `<#C…>` for a channel id we can vouch for, else "its channel". */
export function channelText(id: string | null): string {
  return id && /^[CG][A-Z0-9]{2,20}$/.test(id) ? `<#${id}>` : 'its channel';
}

/** Inline errors of the mute modal, and a mute that already holds. */
export const MUTE_ERRORS = {
  duration: 'Choose how long to mute.',
  untilMissing: 'Pick the date and time the mute ends.',
  inThePast: 'That time has passed: pick one in the future.',
  tooLong: (maxDays: number) => `A mute lasts at most ${maxDays} days: pick an earlier time.`,
  reasonMissing: 'Say why (the channel sees it with the mute).',
  reasonTooLong: (max: number) => `At most ${max.toLocaleString('en-US')} characters.`,
} as const;

export function alreadyMuted(
  detectionName: string,
  until: number,
  by?: { id: string | null; name?: string | null },
): string {
  const who = by ? ` by ${personText(by)}` : '';
  return `:mute: ${detectionLabel(detectionName)} is already muted in this channel${who} until ${when(until)}. Unmute it first (\`/cotool mutes\`) to mute it differently.`;
}

/** A mute made from a card whose alert has no detection. */
export function nothingToMute(displayId: string): string {
  return `:information_source: ${idText(displayId)} has no detection, so there is nothing to mute.`;
}

/** An Unmute on a mute that already ended. */
export function muteAlreadyEnded(detectionName: string): string {
  return `:information_source: The mute of ${detectionLabel(detectionName)} has already ended. Nothing was changed.`;
}

/** A detection name, escaped, on one line, as a code span when it holds formatting markers (copied intact). */
export function detectionLabel(name: string): string {
  return literal(name, 100) || 'this detection';
}

/** Someone or a user group that could not be invited into an incident channel, and Slack's reason. */
function refusedText(r: { id: string; code: string }): string {
  const who = /^S[A-Z0-9]{2,20}$/.test(r.id) ? `<!subteam^${r.id}>` : personText({ id: r.id });
  return `${who} (\`${mrkdwn(oneLine(r.code), 60)}\`)`;
}

/** The incident channel this click opened, and who could not be invited into it. */
export function warRoomOpened(channel: string, refused: readonly { id: string; code: string }[] = []): string {
  const head = `:fire_engine: Incident channel opened: ${channelText(channel)}. The card is posted there and kept up to date; on-call is invited, and the channel is linked in the card's thread and in Cotool.`;
  if (refused.length === 0) return head;
  const shown = refused.slice(0, 10).map(refusedText).join(', ');
  const more = refused.length > 10 ? ` and ${count(refused.length - 10)} more` : '';
  return `${head}\n:warning: Could not invite ${shown}${more}: invite them by hand.`;
}

/** Another click (here or on another replica) is opening the alert's incident channel right now. */
export function warRoomBusy(displayId: string): string {
  return `:hourglass_flowing_sand: The incident channel for ${idText(displayId)} is being opened by someone else right now. It will be linked in the card's thread in a moment.`;
}

/** Slack refused or failed to create the channel for another reason than the two above. */
export function warRoomFailed(slackCode: string, ref: string): string {
  return `:warning: Slack did not create the incident channel (\`${mrkdwn(oneLine(slackCode), 60)}\`), so nothing was opened. Try again in a moment, or ask an admin to check the bot's \`channels:manage\` scope. (ref \`${ref}\`)`;
}
