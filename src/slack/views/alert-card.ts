/**
 * The alert card and its thread replies: pure (alert, context) → { text, blocks }. The whole card is
 * rebuilt from the current alert after every change; the buttons offered follow from its status.
 * Every value that came from Cotool goes through `mrkdwn()` / `plain()` (text.ts), sized for the
 * field it lands in; only our own labels, emoji codes, date tokens and the caller's configured
 * mention are written raw.
 */
import { createHash } from 'node:crypto';
import type {
  ActionsBlock,
  Button,
  ConfirmationDialog,
  ContextBlock,
  KnownBlock,
  MrkdwnElement,
  Overflow,
  PlainTextElement,
  PlainTextOption,
  RichTextBlock,
  SectionBlock,
} from '@slack/types';
import { type Alert, isClosed, isKnownStatus, isLive } from '../../core/alert.ts';
import { detectionKeyOf } from '../../core/mutes.ts';
import { openFor } from '../../core/reminders.ts';
import type { Verdict } from '../../core/verdict.ts';
import { ACTIONS, BLOCKS, type CardOp, OP_STATUS, OPS } from '../ids.ts';
import { encodeAction, muteKeyFits } from '../payloads.ts';
import { LIMITS, literal, mrkdwn, oneLine, plain, quote, richText, safeUrl, slackDate, truncate } from '../text.ts';
import {
  alertMark,
  CLOSED_AS,
  CLOSED_MARK,
  type ClosedStatus,
  isKnownSeverity,
  NO_SEVERITY_MARK,
  SEVERITY_LABEL,
  SEVERITY_MARK,
  STATUS_LABEL,
} from './labels.ts';

export type CardView = { text: string; blocks: KnownBlock[] };
export type SlackActor = { id: string; name: string };

export type CardContext = {
  /** "Open in Cotool" link, built by the caller (may be null). */
  alertUrl: string | null;
  /** Render the triage buttons. */
  interactive: boolean;
  /**
   * Closing opens the reason form (CLOSE_REASON_REQUIRED): the form is the confirmation, so the
   * close buttons carry no confirm dialog of their own.
   */
  closeOpensForm?: boolean;
  /** What the bot last did to the alert from Slack, and who asked. */
  lastAction?: { by: SlackActor; kind: 'status' | 'edit'; status?: string; at: string } | null;
  /** Who escalated (agent or human) and why, for the escalated line. */
  escalation?: { by: string | null; reason: string | null; at: string } | null;
  /** A short note from the bot, e.g. "Alert no longer exists in Cotool". */
  notice?: string | null;
  /**
   * The triage agent's latest verdict (src/core/verdict.ts), when the alert's timeline is known
   * (look-ups, a click that read it). Shown with a "Disagree…" button on interactive cards.
   */
  verdict?: Verdict | null;
  /** Who took the alert ("I'll take it"), from the card's record; shown as `Owner: @ana`. */
  owner?: SlackActor | null;
  /**
   * The renderer's clock (epoch ms), for the fallback of the "open since" line on clients that
   * cannot render date tokens. Never part of the fingerprint: the date token itself stays true.
   */
  now?: number;
};

const ESCALATED_MARK = ':rotating_light:';

const CLOSE_BUTTONS = [
  { op: OPS.closeFp, action_id: ACTIONS.closeFp, status: OP_STATUS[OPS.closeFp], style: 'primary' },
  { op: OPS.closeBenign, action_id: ACTIONS.closeBenign, status: OP_STATUS[OPS.closeBenign] },
  { op: OPS.closeTp, action_id: ACTIONS.closeTp, status: OP_STATUS[OPS.closeTp], style: 'danger' },
] as const satisfies readonly { op: CardOp; action_id: string; status: ClosedStatus; style?: 'primary' | 'danger' }[];

const PROVIDERS = new Map([
  ['jira', 'Jira'],
  ['jira-automation', 'Jira'],
  ['linear', 'Linear'],
  ['slack', 'Slack'],
  ['email', 'Email'],
  ['webhook', 'Webhook'],
  ['bugcrowd', 'Bugcrowd'],
  ['hackerone', 'HackerOne'],
  ['cron', 'Schedule'],
]);

/** Lengths for untrusted values inside composed lines (all far below any field limit once combined). */
const ID_MAX = 32;
const NAME_MAX = 80;
const TITLE_MAX = 200;
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;
/** Mention tokens the caller may pass for the escalation reply (user, user group, @here, @channel). */
const MENTION_TOKEN = /^<(?:@[UW][A-Z0-9]{2,20}|!subteam\^[A-Z0-9]{2,20}(?:\|[^<>&|]{1,80})?|!here|!channel)>$/;

// ---------------------------------------------------------------------------------------------
// Small builders

const md = (text: string): MrkdwnElement => ({ type: 'mrkdwn', text, verbatim: true });
const pt = (text: string): PlainTextElement => ({ type: 'plain_text', text, emoji: true });
const section = (block_id: string, text: string): SectionBlock => ({ type: 'section', block_id, text: md(text) });
const button = (text: string, action_id: string, extra: Partial<Button> = {}): Button => ({
  type: 'button',
  text: pt(text),
  action_id,
  ...extra,
});
/** For `[a, cond && b, …].filter(present)` lists. */
const present = <T>(x: T | null | undefined | false | ''): x is T => Boolean(x);

const isClosedStatus = (s: string): s is ClosedStatus => isClosed(s);

const idOf = (alert: Alert) => mrkdwn(oneLine(alert.displayId), ID_MAX);
const titleOf = (alert: Alert) => oneLine(alert.title) || 'Untitled alert';
const nameOf = (name: string) => mrkdwn(oneLine(name), NAME_MAX) || 'someone';
const at = (iso: string | null | undefined) => (iso ? ` · ${slackDate(iso)}` : '');

/** Status as people say it; an unknown status is shown as sent. */
function statusLabel(status: string): string {
  return isKnownStatus(status) ? STATUS_LABEL[status] : mrkdwn(oneLine(status), 60) || 'Unknown';
}

function severityOf(severity: string | null): { emoji: string; label: string; tag: string } {
  if (severity && isKnownSeverity(severity)) {
    return { emoji: SEVERITY_MARK[severity], label: SEVERITY_LABEL[severity], tag: severity.toUpperCase() };
  }
  const raw = oneLine(severity ?? '');
  return raw
    ? { emoji: NO_SEVERITY_MARK, label: mrkdwn(raw, 40), tag: mrkdwn(raw.toUpperCase(), 16) }
    : { emoji: NO_SEVERITY_MARK, label: 'Unknown', tag: '' };
}

/** Encodes button values; null when the alert's id cannot travel in a payload (the card then renders without buttons). */
function payloadEncoder(alert: Alert): ((op: CardOp) => string) | null {
  const value = (op: CardOp) => encodeAction({ v: 1, op, id: alert.id, u: alert.updatedAt });
  try {
    value(OPS.closeBenign); // the longest op: if it fits, all do
    return value;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// The card

export function renderAlertCard(alert: Alert, ctx: CardContext): CardView {
  const encode = ctx.interactive ? payloadEncoder(alert) : null;
  const blocks: KnownBlock[] = [
    header(alert),
    statusSection(alert, ctx),
    fieldsSection(alert, ctx.owner ?? null),
    verdictContext(ctx.verdict ?? null),
    descriptionSection(alert),
    encode && triageActions(alert, encode, ctx.closeOpensForm === true, !ctx.owner),
    encode && nextMoves(alert, encode),
    linkActions(alert, ctx, encode),
    footer(alert, ctx, ctx.interactive && !encode),
  ].filter(present);
  return { text: fallbackText(alert), blocks };
}

/** `[HIGH] COT-123: title (Escalated)` — the notification text; Slack renders it as mrkdwn. */
function fallbackText(alert: Alert): string {
  const { tag } = severityOf(alert.severity);
  return `${tag ? `[${tag}] ` : ''}${idOf(alert)}: ${mrkdwn(titleOf(alert), TITLE_MAX)} (${statusLabel(alert.status)})`;
}

function header(alert: Alert): KnownBlock {
  const mark = alertMark(alert);
  const prefix = `${mark} ${plain(oneLine(alert.displayId), ID_MAX)} · `;
  return {
    type: 'header',
    block_id: BLOCKS.cardHeader,
    text: pt(prefix + plain(titleOf(alert), LIMITS.header - prefix.length)),
  };
}

/** Whether the bot's last action is what put the alert in its current status. */
const lastActionSetStatus = (alert: Alert, ctx: CardContext) =>
  ctx.lastAction?.kind === 'status' && ctx.lastAction.status === alert.status ? ctx.lastAction : null;

/** The closed or escalated line; live cards without an escalation have none. */
function statusSection(alert: Alert, ctx: CardContext): SectionBlock | null {
  const last = lastActionSetStatus(alert, ctx);
  if (isClosedStatus(alert.status)) {
    const by = last ? ` by ${nameOf(last.by.name)}` : '';
    return section(
      BLOCKS.cardStatus,
      `${CLOSED_MARK} *Closed as ${CLOSED_AS[alert.status]}*${by}${at(last?.at ?? alert.resolvedAt)}`,
    );
  }
  if (alert.status !== 'escalated') return null;
  const esc = ctx.escalation ?? (last && { by: last.by.name, reason: null, at: last.at });
  const by = esc?.by ? ` by ${nameOf(esc.by)}` : '';
  const why = esc?.reason?.trim() ? `\n${quote(esc.reason, { maxChars: 500, maxLines: 6, max: 2_500 })}` : '';
  return section(BLOCKS.cardStatus, `${ESCALATED_MARK} *Escalated*${by}${at(esc?.at)}${why}`);
}

/** The owner as a mention when their id is a Slack user id, else their escaped name. */
function ownerText(owner: SlackActor): string {
  return SLACK_USER_ID.test(owner.id) ? `<@${owner.id}>` : `*${nameOf(owner.name)}*`;
}

function fieldsSection(alert: Alert, owner: SlackActor | null): SectionBlock {
  const closed = isClosed(alert.status);
  const severity = severityOf(alert.severity);
  const source = [alert.source?.category, alert.source?.name, alert.source?.triggerType]
    .map((p) => oneLine(p ?? ''))
    .filter((p, i, all) => p && all.indexOf(p) === i)
    .map((p) => literal(p, 60));
  const detection = oneLine(alert.detection?.name ?? '');
  const agent = oneLine(alert.assignedAgentName ?? '');
  const field = (label: string, value: string) => md(`*${label}*\n${value}`);
  const fields = [
    field('Status', statusLabel(alert.status)),
    field('Severity', closed ? severity.label : `${severity.emoji} ${severity.label}`),
    field('Source', source.join(' · ') || '—'),
    detection && field('Detection', literal(detection, 200)),
    field('Assigned agent', agent ? literal(agent, NAME_MAX) : 'Unassigned'),
    field('Created', slackDate(alert.createdAt)),
    owner && field('Owner', ownerText(owner)),
  ].filter(present);
  return { type: 'section', block_id: BLOCKS.cardFields, fields };
}

function descriptionSection(alert: Alert): RichTextBlock | null {
  return descriptionBlock(BLOCKS.cardDescription, alert.description, { maxChars: 600, maxLines: 12 });
}

/**
 * "Description" over the alert's description as a quote, in a `rich_text` block: Slack shows rich
 * text literally (no mrkdwn formatting, entities, mentions or links), so every indicator in it —
 * `*.ps1`, `_x_`, `a && b`, `<in.txt` — is copied out exactly, and the quote bar keeps it from passing
 * for a line of our own. Null when there is no description.
 */
export function descriptionBlock(
  block_id: string,
  description: string | null | undefined,
  opts: { maxChars: number; maxLines: number },
): RichTextBlock | null {
  if (!description?.trim()) return null;
  const lines = truncate(description.trim(), opts.maxChars).split(/\r\n?|\n|[\u0085\u2028\u2029]/);
  const shown = lines.length > opts.maxLines ? [...lines.slice(0, opts.maxLines), '…'] : lines;
  const body = richText(shown.map((l) => l.trimEnd()).join('\n'), opts.maxChars + opts.maxLines + 1) || '…';
  return {
    type: 'rich_text',
    block_id,
    elements: [
      { type: 'rich_text_section', elements: [{ type: 'text', text: 'Description', style: { bold: true } }] },
      { type: 'rich_text_quote', elements: [{ type: 'text', text: body }] },
    ],
  };
}

function triageActions(
  alert: Alert,
  encode: (op: CardOp) => string,
  closeOpensForm: boolean,
  unowned: boolean,
): ActionsBlock | null {
  if (isClosed(alert.status)) {
    return {
      type: 'actions',
      block_id: BLOCKS.cardActions,
      elements: [button('Reopen', ACTIONS.reopen, { value: encode(OPS.reopen) })],
    };
  }
  if (!isLive(alert.status)) return null; // an unknown status: no guess at which transitions are valid
  const closeButtons = CLOSE_BUTTONS.map((b) =>
    button(`Close as ${CLOSED_AS[b.status]}`, b.action_id, {
      value: encode(b.op),
      ...('style' in b && { style: b.style }),
      ...(!closeOpensForm && { confirm: confirmClose(alert, b.status, 'style' in b ? b.style : 'primary') }),
    }),
  );
  const option = (text: string, op: CardOp): PlainTextOption => ({ text: pt(text), value: encode(op) });
  const more: Overflow = {
    type: 'overflow',
    action_id: ACTIONS.more,
    options: [
      alert.status !== 'in_progress' && option('Mark in progress', OPS.inProgress),
      option('Close with reason…', OPS.closeReason),
      option('Edit title & description…', OPS.edit),
    ].filter(present),
  };
  const escalate =
    alert.status !== 'escalated' && button('Escalate', ACTIONS.escalate, { value: encode(OPS.escalate) });
  const take = unowned && waiting(alert) && button("I'll take it", ACTIONS.take, { value: encode(OPS.take) });
  return {
    type: 'actions',
    block_id: BLOCKS.cardActions,
    elements: [take, ...closeButtons, escalate, more].filter(present),
  };
}

/** Open or escalated: nobody is working on it yet (in progress means someone is). */
const waiting = (alert: Alert) => alert.status === 'open' || alert.status === 'escalated';

/**
 * The next moves: ask the person the alert names, mute its detection, open a war room. Asking and
 * the war room are for live alerts; a detection can be muted from any card that names one (closing
 * one as a false positive is when the noise is plainest).
 */
function nextMoves(alert: Alert, encode: (op: CardOp) => string): ActionsBlock | null {
  const live = isLive(alert.status);
  const elements = [
    live && button('Ask the user…', ACTIONS.askUser, { value: encode(OPS.askUser) }),
    muteKeyFits(detectionKeyOf(alert)) && button('Mute detection…', ACTIONS.mute, { value: encode(OPS.mute) }),
    live && button('Open incident channel', ACTIONS.warRoom, { value: encode(OPS.warRoom) }),
  ].filter(present);
  return elements.length ? { type: 'actions', block_id: BLOCKS.cardMoves, elements } : null;
}

/** The dialog before a close: names the alert and the disposition, in plain text. */
function confirmClose(alert: Alert, status: ClosedStatus, style: 'primary' | 'danger'): ConfirmationDialog {
  const as = CLOSED_AS[status];
  const subject = plain(`${oneLine(alert.displayId)}: ${titleOf(alert)}`, 200);
  return {
    title: pt(`Close as ${as}?`),
    text: pt(`${subject}\n\nThis closes the alert in Cotool as ${as}.`),
    confirm: pt('Close alert'),
    deny: pt('Cancel'),
    style,
  };
}

/** "🤖 Triaged by *Aria* — *escalate*: first line of the summary · date". */
function verdictContext(verdict: Verdict | null): ContextBlock | null {
  if (!verdict) return null;
  const agent = verdict.agent ? `*${literal(verdict.agent, NAME_MAX)}*` : 'an agent';
  const outcome = verdict.outcome ? ` — verdict *${mrkdwn(oneLine(verdict.outcome).replace(/_/g, ' '), 60)}*` : '';
  const summary = verdict.summary ? `: ${literal(verdict.summary, 300)}` : '';
  return {
    type: 'context',
    block_id: BLOCKS.cardVerdict,
    elements: [md(`:robot_face: Triaged by ${agent}${outcome}${summary}${at(verdict.at)}`)],
  };
}

function linkActions(alert: Alert, ctx: CardContext, encode: ((op: CardOp) => string) | null): ActionsBlock | null {
  const cotool = safeUrl(ctx.alertUrl);
  const external = safeUrl(alert.externalUrl);
  const elements = [
    cotool && button('Open in Cotool', ACTIONS.openLink, { url: cotool }),
    external && button(externalLabel(alert, new URL(external).hostname), ACTIONS.externalLink, { url: external }),
    encode && button('Add note…', ACTIONS.addNote, { value: encode(OPS.note) }),
    encode && ctx.verdict && button('Disagree…', ACTIONS.disagree, { value: encode(OPS.disagree) }),
  ].filter(present);
  return elements.length ? { type: 'actions', block_id: BLOCKS.cardLinks, elements } : null;
}

/** Between the parts of the external link's label. */
const LABEL_SEP = ' · ';
/** A ref is shown only when at least this much of it fits (else the label is provider and host alone). */
const REF_MIN = 8;

/**
 * The external link's label always says where it goes: "Jira · acme.atlassian.net · SEC-42",
 * "evil.example · SEC-42". Provider, ref and URL all come from the alert's source (a webhook can call
 * itself "Okta — verify your account"), so the URL's own host is shown right after our provider name
 * and before the untrusted ref, and is never cut away: only the ref is shortened to fit the button;
 * a host longer than the button keeps its right-hand end (the registrable domain).
 */
function externalLabel(alert: Alert, hostname: string): string {
  const max = LIMITS.buttonText;
  const host = hostLabel(plain(hostname, LIMITS.url), max);
  const provider = PROVIDERS.get(oneLine(alert.externalProvider ?? ''));
  const head = provider && provider.length + LABEL_SEP.length + host.length <= max ? provider + LABEL_SEP + host : host;
  const ref = oneLine(alert.externalRef ?? '');
  const room = max - head.length - LABEL_SEP.length;
  return ref && (ref.length <= room || room >= REF_MIN) ? head + LABEL_SEP + plain(ref, room) : head;
}

/** A host that fits `max`: whole, or "…" and its last labels (the end names who owns it). */
function hostLabel(host: string, max: number): string {
  if (host.length <= max) return host;
  const tail = host.slice(host.length - (max - 1));
  const dot = tail.indexOf('.');
  return `…${dot >= 0 && dot < tail.length - 1 ? tail.slice(dot + 1) : tail}`;
}

function footer(alert: Alert, ctx: CardContext, actionsUnavailable: boolean): ContextBlock {
  const last = ctx.lastAction;
  const lastShownAbove = lastActionSetStatus(alert, ctx) && (isClosed(alert.status) || alert.status === 'escalated');
  const org = oneLine(alert.organizationName ?? '');
  const elements = [
    ctx.notice?.trim() && md(`:warning: ${mrkdwn(oneLine(ctx.notice), 300)}`),
    actionsUnavailable && md(':warning: Buttons are unavailable for this alert; use Cotool.'),
    last && !lastShownAbove && md(`${describeLast(last)} by ${nameOf(last.by.name)}${at(last.at)}`),
    waiting(alert) && !ctx.owner && openSince(alert.createdAt, ctx.now),
    md(`${org ? `${mrkdwn(org, NAME_MAX)} · ` : ''}Updated ${slackDate(alert.updatedAt)}`),
  ].filter(present);
  return { type: 'context', block_id: BLOCKS.cardFooter, elements };
}

/**
 * ":hourglass_flowing_sand: opened 23 minutes ago · nobody has taken it yet": a date token each
 * client keeps current between redraws; the fallback (old clients, notifications) is "open 23 min"
 * on the renderer's clock, or the UTC time when no clock is given.
 */
function openSince(createdAt: string, now: number | undefined): MrkdwnElement | null {
  const since = Date.parse(createdAt);
  if (!Number.isFinite(since)) return null;
  const seconds = Math.floor(since / 1000);
  const fallback =
    now !== undefined
      ? openFor(since, now)
      : `open since ${new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return md(`:hourglass_flowing_sand: <!date^${seconds}^opened {ago}|${fallback}> · nobody has taken it yet`);
}

function describeLast(last: NonNullable<CardContext['lastAction']>): string {
  if (last.kind === 'edit') return ':pencil2: Edited';
  const status = last.status ?? '';
  if (isClosedStatus(status)) return `${CLOSED_MARK} Closed as ${CLOSED_AS[status]}`;
  if (status === 'escalated') return `${ESCALATED_MARK} Escalated`;
  if (status === 'in_progress') return ':hourglass_flowing_sand: Marked in progress';
  if (status === 'open') return ':arrows_counterclockwise: Reopened';
  return `Set to ${statusLabel(status)}`;
}

// ---------------------------------------------------------------------------------------------
// Thread replies

/** The caller's mention if every token in it is a mention token; otherwise it is shown as text. */
function mentionOf(mention: string | null): string {
  const tokens = mention?.trim().split(/\s+/) ?? [];
  if (!mention || !tokens[0]) return '';
  return tokens.every((t) => MENTION_TOKEN.test(t)) ? tokens.join(' ') : mrkdwn(oneLine(mention), NAME_MAX);
}

/** The reply (broadcast to the channel) announcing an escalation, with the configured mention. */
export function renderEscalationReply(
  alert: Alert,
  ctx: { by: string | null; reason: string | null; mention: string | null },
): CardView {
  const id = idOf(alert);
  const title = mrkdwn(titleOf(alert), TITLE_MAX);
  const by = ctx.by?.trim() ? ` by ${nameOf(ctx.by)}` : '';
  const reason = ctx.reason?.trim() ? ` — ${mrkdwn(oneLine(ctx.reason), 1_500)}` : '';
  const mention = mentionOf(ctx.mention);
  return {
    text: `${mention ? `${mention} ` : ''}${ESCALATED_MARK} ${id} was escalated${by}: ${title}`,
    blocks: [
      section(BLOCKS.reply, `${ESCALATED_MARK} *${id}* was escalated${by}${reason}${mention ? `\n${mention}` : ''}`),
      { type: 'context', block_id: BLOCKS.replyContext, elements: [md(`${id} · ${title}`)] },
    ],
  };
}

export type StatusReplyContext = {
  by: SlackActor;
  /** Where the change was made: a Slack user (mentioned) or someone in Cotool (named). */
  from: 'slack' | 'cotool';
  status: string;
  reason?: string | null;
};

/** A thread note for a status change: "@ana closed COT-1 as false positive: <reason>". */
export function renderStatusReply(alert: Alert, ctx: StatusReplyContext): CardView {
  const actor = ctx.from === 'slack' && SLACK_USER_ID.test(ctx.by.id) ? `<@${ctx.by.id}>` : `*${nameOf(ctx.by.name)}*`;
  const where = ctx.from === 'cotool' ? ' in Cotool' : '';
  const { mark, verb } = describeChange(ctx.status);
  const line = (id: string) => `${actor} ${verb(id)}${where}`;
  const reason = ctx.reason?.trim() ?? '';
  const why = reason ? `:\n${quote(reason, { maxChars: 2_000, maxLines: 20, max: 2_500 })}` : '';
  return {
    text: `${line(idOf(alert))}${reason ? `: ${mrkdwn(oneLine(reason), 300)}` : ''}`,
    blocks: [section(BLOCKS.reply, `${mark} ${line(`*${idOf(alert)}*`)}${why}`)],
  };
}

function describeChange(status: string): { mark: string; verb: (id: string) => string } {
  if (isClosedStatus(status)) return { mark: CLOSED_MARK, verb: (id) => `closed ${id} as ${CLOSED_AS[status]}` };
  if (status === 'escalated') return { mark: ESCALATED_MARK, verb: (id) => `escalated ${id}` };
  if (status === 'in_progress') return { mark: ':hourglass_flowing_sand:', verb: (id) => `marked ${id} in progress` };
  if (status === 'open') return { mark: ':arrows_counterclockwise:', verb: (id) => `reopened ${id}` };
  return { mark: ':information_source:', verb: (id) => `set ${id} to ${statusLabel(status)}` };
}

/** Bump when the card's layout changes, so every card is redrawn once after an upgrade. */
const CARD_LAYOUT_REVISION = 'card-4';

/**
 * A compact fingerprint of what `renderAlertCard(alert, ctx)` shows, without rendering it: the alert
 * fields the card reads (its buttons carry `updatedAt`), the last Slack action it credits and its
 * owner. Not the clock: the "open since" line is a date token that stays true between redraws.
 */
export function alertFingerprint(
  alert: Alert,
  lastAction: CardContext['lastAction'],
  extra: { owner?: SlackActor | null } = {},
): string {
  const h = createHash('sha1');
  h.update(CARD_LAYOUT_REVISION);
  for (const v of [
    alert.updatedAt,
    alert.status,
    alert.severity,
    alert.displayId,
    alert.title,
    alert.description,
    alert.assignedAgentName,
    alert.detection?.name,
    alert.source?.name,
    alert.organizationName,
    alert.externalUrl,
    alert.createdAt,
  ]) {
    h.update('\u0000');
    h.update(v ?? '\u0001');
  }
  if (lastAction) h.update(JSON.stringify(lastAction));
  if (extra.owner) h.update(`\u0002${JSON.stringify([extra.owner.id, extra.owner.name])}`);
  return h.digest('base64url');
}

/** A stable hash of what the card shows, to skip `chat.update` when nothing visible changed. */
export function cardFingerprint(view: CardView): string {
  return createHash('sha256').update(JSON.stringify(view)).digest('hex');
}
