/**
 * User-facing wording shared by every surface (buttons, modals, commands, App Home). Untrusted
 * values are escaped here; the text returned is mrkdwn ready for an ephemeral message.
 */
import { randomBytes } from 'node:crypto';
import type { CotoolError } from '../cotool/errors.ts';
import type { AccessRefusal } from '../service/access.ts';
import { mrkdwn, oneLine } from './text.ts';

/** A short reference shown to the user and written to the log with the error. */
export function newRef(): string {
  return randomBytes(4).toString('hex');
}

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
  if (err.kind === 'http') {
    if (err.status === 404 || (err.status === 400 && err.isNotFound())) {
      return `:grey_question: ${subject} was not found in Cotool (it may have been deleted).`;
    }
    if (err.status === 403) {
      const perms = err.missingPerms?.length ? err.missingPerms.map((p) => `\`${mrkdwn(p, 60)}\``).join(', ') : null;
      return perms
        ? `:lock: The Cotool API key lacks ${perms}. Ask a Cotool admin to grant it.${nothing}`
        : `:lock: Cotool refused the bot's API key for this (403).${nothing} (ref \`${ref}\`)`;
    }
    if (err.status === 401) {
      return `:lock: Cotool rejected the bot's API key (401): an admin must check COTOOL_API_KEY.${nothing} (ref \`${ref}\`)`;
    }
    if (err.status === 400) {
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
