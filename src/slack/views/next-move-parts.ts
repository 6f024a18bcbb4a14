/**
 * Small pieces the next-move views share (issue 14): people, channels and user groups as mentions
 * only when their id is validated (never an untrusted string), dates as Slack date tokens, durations
 * in words. Pure.
 */
import type { ContextBlock, MrkdwnElement, PlainTextElement, SectionBlock } from '@slack/types';
import { mrkdwn, oneLine } from '../text.ts';

export const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;
export const SLACK_CHANNEL_ID = /^[CG][A-Z0-9]{2,20}$/;
export const SLACK_GROUP_ID = /^S[A-Z0-9]{2,20}$/;

export type Person = { id: string | null; name?: string | null };

export const md = (text: string): MrkdwnElement => ({ type: 'mrkdwn', text, verbatim: true });
export const pt = (text: string): PlainTextElement => ({ type: 'plain_text', text, emoji: true });
export const section = (block_id: string, text: string): SectionBlock => ({
  type: 'section',
  block_id,
  text: md(text),
});
export const context = (block_id: string, texts: readonly string[]): ContextBlock => ({
  type: 'context',
  block_id,
  elements: texts.map(md),
});

/** `<@U…>` for a validated user id, else the escaped name in bold. */
export function who(p: Person): string {
  if (p.id && SLACK_USER_ID.test(p.id)) return `<@${p.id}>`;
  return `*${mrkdwn(oneLine(p.name ?? ''), 80) || 'someone'}*`;
}

/** The escaped name, without a mention (for notification text where nobody should be pinged twice). */
export function nameOf(p: Person): string {
  return mrkdwn(oneLine(p.name ?? ''), 80) || 'someone';
}

/** `<#C…>` for a validated channel id, else null. */
export function channelLink(id: string | null | undefined): string | null {
  return id && SLACK_CHANNEL_ID.test(id) ? `<#${id}>` : null;
}

/** `<!subteam^S…>` for a validated user group id, else null: never built from an untrusted string. */
export function groupMention(id: string | null | undefined): string | null {
  return id && SLACK_GROUP_ID.test(id) ? `<!subteam^${id}>` : null;
}

/** The alert's display id in bold, escaped. */
export const idOf = (displayId: string) => `*${mrkdwn(oneLine(displayId), 40) || 'the alert'}*`;

/** A Slack date token for epoch ms (each reader's time zone), with a UTC fallback. */
export function when(ms: number, format = '{date_short_pretty} at {time}'): string {
  if (!Number.isFinite(ms)) return 'an unknown time';
  const s = Math.floor(ms / 1000);
  const fallback = `${new Date(s * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${s}^${format}|${fallback}>`;
}

/** "25 min", "4 h", "1 h 5 min", "2 d 3 h" (whole minutes, rounded down; at least "0 min"). */
export function span(ms: number): string {
  const min = Math.max(0, Math.floor(ms / 60_000));
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return `${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

export const count = (n: number) => n.toLocaleString('en-US');
export const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;
