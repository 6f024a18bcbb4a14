/**
 * The App Home: live alerts counted by status and by severity (Cotool's totals), the escalated
 * alerts with the card's own buttons, and the bot's health (last successful poll, lag, failures,
 * last error). Never blank: a Cotool failure shows as a line with a reference, a refusal says why.
 * Pure: (data, context) → a `home` view of at most 100 blocks.
 */
import type { ActionsBlock, ContextBlock, HomeView, KnownBlock, SectionBlock } from '@slack/types';
import { type Alert, type KnownSeverity, SEVERITIES } from '../../cotool/schemas.ts';
import type { HealthState } from '../../http/health.ts';
import type { HomeData, LiveStatus } from '../../service/lookup.ts';
import { BLOCKS, LOOKUP_ACTIONS, LOOKUP_BLOCKS } from '../ids.ts';
import { LIMITS, mrkdwn, oneLine, slackDate } from '../text.ts';
import { renderAlertCard } from './alert-card.ts';
import { SEVERITY_LABEL, STATUS_LABEL } from './labels.ts';
import { type MuteView, muteList } from './mute.ts';
import { linkToken } from './unfurl.ts';

export const HOME_MAX_ESCALATED = 10;

export type HomeContext = {
  alertUrl: (alert: Alert) => string | null;
  /** The Cotool web app, linked from the top of the home. */
  appUrl: string | null;
  /** What to say about `data.error` (our wording, with a reference), when there is one. */
  errorText?: string | null;
  /** CLOSE_REASON_REQUIRED: the cards' close buttons open the reason form (no confirm dialog of their own). */
  closeOpensForm: boolean;
  /**
   * The mutes holding now (src/slack/views/mute.ts), for the "Muted detections" section with
   * Unmute on each; no section when not given.
   */
  mutes?: readonly MuteView[] | null;
};

/** Mutes the home lists one by one (the rest are counted; `/cotool mutes` lists them all). */
export const HOME_MAX_MUTES = 10;

const md = (text: string) => ({ type: 'mrkdwn' as const, text, verbatim: true });
const section = (block_id: string, text: string): SectionBlock => ({ type: 'section', block_id, text: md(text) });
const context = (block_id: string, texts: string[]): ContextBlock => ({
  type: 'context',
  block_id,
  elements: texts.slice(0, LIMITS.contextElements).map(md),
});
const header = (): KnownBlock => ({
  type: 'header',
  block_id: LOOKUP_BLOCKS.homeHeader,
  text: { type: 'plain_text', text: 'Cotool alerts', emoji: true },
});
const n = (v: number | null) => (v === null ? '—' : String(v));

/** "12 s", "4 min", "3 h", "2 d". */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 2 * 3600) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86_400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

function countSections(data: HomeData): KnownBlock[] {
  const statuses: LiveStatus[] = ['open', 'in_progress', 'escalated'];
  const statusFields = statuses.map((s) => md(`*${STATUS_LABEL[s]}*\n${n(data.byStatus[s])}`));
  const live = statuses.map((s) => data.byStatus[s]);
  const total = live.every((v) => v !== null) ? live.reduce((a: number, b) => a + (b ?? 0), 0) : null;
  const sevs = SEVERITIES.map((s: KnownSeverity) => data.bySeverity[s]);
  const known = sevs.every((v) => v !== null) ? sevs.reduce((a: number, b) => a + (b ?? 0), 0) : null;
  const unrated = total !== null && known !== null && total > known ? total - known : 0;
  const severityFields = [
    ...[...SEVERITIES].reverse().map((s) => md(`*${SEVERITY_LABEL[s]}*\n${n(data.bySeverity[s])}`)),
    ...(unrated > 0 ? [md(`*No severity*\n${unrated}`)] : []),
  ];
  return [
    {
      type: 'section',
      block_id: LOOKUP_BLOCKS.homeStatus,
      text: md(`*Live alerts by status* — ${n(total)} in all`),
      fields: statusFields,
    },
    {
      type: 'section',
      block_id: LOOKUP_BLOCKS.homeSeverity,
      text: md('*Live alerts by severity*'),
      fields: severityFields,
    },
  ];
}

/** A card's blocks for the home: without the long description, block ids made unique per card. */
function homeCard(alert: Alert, index: number, data: HomeData['escalated'], ctx: HomeContext): KnownBlock[] {
  const record = data?.alerts[index];
  const card = renderAlertCard(alert, {
    alertUrl: ctx.alertUrl(alert),
    interactive: true,
    closeOpensForm: ctx.closeOpensForm,
    lastAction: record?.lastAction ?? null,
  });
  return card.blocks
    .filter((b) => b.block_id !== BLOCKS.cardDescription)
    .map((b) => ({ ...b, block_id: `${b.block_id ?? 'block'}.${index}` }) as KnownBlock);
}

function escalatedSection(data: HomeData, ctx: HomeContext, room: number): KnownBlock[] {
  const esc = data.escalated;
  if (!esc) return [section(LOOKUP_BLOCKS.homeEscalated, '*Escalated* — could not be read from Cotool just now.')];
  if (esc.alerts.length === 0) {
    return [section(LOOKUP_BLOCKS.homeEscalated, '*Escalated* — nothing is waiting for a human. :white_check_mark:')];
  }
  const out: KnownBlock[] = [
    section(
      LOOKUP_BLOCKS.homeEscalated,
      `*Escalated — a human must look* (${esc.totalCount}${esc.totalCount > HOME_MAX_ESCALATED ? `, newest ${HOME_MAX_ESCALATED} below` : ''})`,
    ),
  ];
  let shown = 0;
  for (const [i, { alert }] of esc.alerts.slice(0, HOME_MAX_ESCALATED).entries()) {
    const card = homeCard(alert, i, esc, ctx);
    const divider: KnownBlock = { type: 'divider', block_id: `${LOOKUP_BLOCKS.homeEscalated}.divider.${i}` };
    if (out.length + card.length + 1 > room) break;
    out.push(divider, ...card);
    shown++;
  }
  const hidden = esc.totalCount - shown;
  if (hidden > 0) {
    out.push(
      context(LOOKUP_BLOCKS.homeEscalatedMore, [
        `${hidden} more escalated ${hidden === 1 ? 'alert' : 'alerts'} not shown — \`/cotool list escalated\` lists them all.`,
      ]),
    );
  }
  return out;
}

function healthBlocks(h: HealthState, now: number): KnownBlock[] {
  const last = h.lastSuccessfulPollAt;
  const lagMs = last ? now - Date.parse(last) : null;
  const state = h.stopping
    ? ':double_vertical_bar: Stopping'
    : h.consecutiveFailures > 0
      ? `:red_circle: Degraded — ${h.consecutiveFailures} failed ${h.consecutiveFailures === 1 ? 'poll' : 'polls'} in a row`
      : last
        ? ':large_green_circle: Healthy'
        : ':white_circle: No poll has completed yet';
  const fields = [
    md(`*Last successful poll*\n${last ? slackDate(last) : 'never'}`),
    md(`*Lag*\n${lagMs !== null && Number.isFinite(lagMs) ? humanDuration(lagMs) : '—'}`),
    md(`*Failures in a row*\n${h.consecutiveFailures}`),
    md(`*Last poll took*\n${h.lastPollDurationMs === null ? '—' : `${Math.round(h.lastPollDurationMs)} ms`}`),
    md(`*Live alerts at last poll*\n${n(h.liveAlerts)}`),
    md(`*Connection*\n${h.mode === 'socket' ? 'Socket Mode' : 'HTTP'} · up since ${slackDate(h.startedAt)}`),
  ];
  const blocks: KnownBlock[] = [
    section(LOOKUP_BLOCKS.homeHealthHeading, `*Bot health* — ${state}`),
    { type: 'section', block_id: LOOKUP_BLOCKS.homeHealth, fields },
  ];
  if (h.lastError) {
    const e = h.lastError;
    blocks.push(
      context(LOOKUP_BLOCKS.homeHealthError, [
        `Last error (${mrkdwn(oneLine(e.source), 20)}, ${slackDate(e.at)}): ${mrkdwn(oneLine(e.message), 500)}`,
      ]),
    );
  }
  return blocks;
}

function actions(): ActionsBlock {
  return {
    type: 'actions',
    block_id: LOOKUP_BLOCKS.homeActions,
    elements: [
      {
        type: 'button',
        action_id: LOOKUP_ACTIONS.homeRefresh,
        text: { type: 'plain_text', text: 'Refresh', emoji: true },
        value: 'refresh',
      },
    ],
  };
}

export function renderHome(data: HomeData, ctx: HomeContext): HomeView {
  const link = linkToken(ctx.appUrl, 'Open Cotool');
  const intro = context(LOOKUP_BLOCKS.homeIntro, [
    `Updated ${slackDate(new Date(data.now).toISOString())}${link ? ` · ${link}` : ''}`,
  ]);
  const top: KnownBlock[] = [header(), intro, ...countSections(data)];
  if (data.error) {
    top.push(
      context(LOOKUP_BLOCKS.homeError, [ctx.errorText ?? ':warning: Some numbers could not be read from Cotool.']),
    );
  }
  const mutes = ctx.mutes
    ? muteList(ctx.mutes, data.now, { blockPrefix: `${LOOKUP_BLOCKS.homeMutes}.`, max: HOME_MAX_MUTES }).blocks
    : [];
  const bottom: KnownBlock[] = [...mutes, ...healthBlocks(data.health, data.now), actions()];
  const room = LIMITS.surfaceBlocks - top.length - bottom.length;
  const middle = escalatedSection(data, ctx, room);
  return { type: 'home', blocks: [...top, ...middle, ...bottom] };
}

/** The home of someone the access policy refuses: why, and nothing about any alert. */
export function renderRefusedHome(reasonText: string): HomeView {
  return {
    type: 'home',
    blocks: [header(), section(LOOKUP_BLOCKS.homeRefused, reasonText)],
  };
}

/** The home when building it failed unexpectedly: the reference, and a way to try again. */
export function renderErrorHome(text: string): HomeView {
  return { type: 'home', blocks: [header(), section(LOOKUP_BLOCKS.homeError, text), actions()] };
}
