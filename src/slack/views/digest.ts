/**
 * The storm digest: one message per channel per storm, redrawn in place as the storm grows. Pure:
 * (storm, groups, tallies, now) → {text, blocks}.
 *
 *   ⛈ Alert storm: 1,000 alerts                                      (header)
 *   Since 10:02 · latest 10:14 · 9 groups · 940 still live            (context, reader's time zone)
 *   🚨 Escalated — 12 alerts · 12 live                                 (section per group)
 *   🔴 2 critical · 🟠 10 high
 *   First 10:02 · last 10:13
 *   e.g. Token reuse · Impossible travel · …
 *   COT-1001–COT-1009, COT-1042, COT-1077                             (context: ids, then the tally
 *   ✅ Closed as false positive by Jane: Closed 57 · already closed 2 …   once a bulk close ran)
 *   [Show alerts] [Mute detection…] [Close all as false positive…]    (actions; no close once closed)
 *   …
 *   +7 more detections: 120 alerts · 80 live        [Show alerts]      (the rest, in one line)
 *
 * Drawn from the store's aggregate (Store.stormDigest: counts, examples and a bounded list of id
 * spans per group, computed in SQL), so a storm of any size costs the same memory to draw.
 *
 * Limits. Slack takes at most 50 blocks and 3,000 characters per section, and in practice refuses a
 * message whose blocks hold more than ~13,000 characters of text (`msg_blocks_too_long`, below the
 * documented 40,000). So at most MAX_GROUPS_SHOWN groups are shown one by one (≤ 3 blocks each, 39
 * blocks at most; a group's ids fill up to nine 2,900-character context elements), and the text of all blocks stays within TEXT_BUDGET: the fixed part of each group
 * first (shortened, fewer examples, when many groups and long hostile names need it), then the
 * ids, shared fairly between the groups (a group that needs less leaves room to the others). Ids that
 * do not fit end with "+N more — Show alerts"; Show alerts lists every member with a View button, and
 * every id is listed, one by one, in replies in the digest's thread (renderIdList).
 */
import type { ActionsBlock, Button, ContextBlock, HeaderBlock, KnownBlock, SectionBlock } from '@slack/types';
import {
  type BulkTally,
  compactIds,
  type DigestGroup,
  ESCALATED_GROUP,
  type IdSpan,
  MAX_GROUPS_SHOWN,
  type SeverityCounts,
  type StormDigest,
  tallyDone,
} from '../../notify/digest.ts';
import type { SlackView } from '../../notify/ports.ts';
import type { Storm } from '../../store/store.ts';
import { encodeDigestButton } from '../digest-payloads.ts';
import { ACTIONS, DIGEST_ACTIONS, DIGEST_BLOCKS } from '../ids.ts';
import { encodeDigestMute } from '../payloads.ts';
import { LIMITS, literal, mrkdwn, oneLine, plain, slackDate } from '../text.ts';
import { NO_SEVERITY_MARK, SEVERITY_MARK } from './labels.ts';

/** The text all blocks may hold together: under the ~13,000 at which Slack refuses a message. */
export const TEXT_BUDGET = 12_000;

export type DigestContext = {
  now: number;
  /** For tests; default TEXT_BUDGET. */
  textBudget?: number;
};

/** How much of each group's fixed part is shown; the first level that leaves room for ids wins. */
type Detail = { nameMax: number; examples: number; titleMax: number; failedMax: number };
const DETAILS: readonly Detail[] = [
  { nameMax: 150, examples: 3, titleMax: 100, failedMax: 600 },
  { nameMax: 100, examples: 3, titleMax: 60, failedMax: 400 },
  { nameMax: 80, examples: 2, titleMax: 50, failedMax: 250 },
  { nameMax: 60, examples: 1, titleMax: 40, failedMax: 150 },
  { nameMax: 60, examples: 0, titleMax: 0, failedMax: 100 },
];
/** Room every shown group should have for ids before a shorter level is tried. */
const MIN_ID_ROOM = 60;
const SEP = ', ';
/** Ids go in a context block: up to 9 elements (the 10th is the tally) of this many characters. */
const ID_CHUNK = 2_900;
const ID_ROOM_MAX = 9 * ID_CHUNK - 100;

const md = (text: string) => ({ type: 'mrkdwn' as const, text, verbatim: true });
const n = (x: number) => x.toLocaleString('en-US');
const plural = (x: number, one: string, many = `${one}s`) => `${n(x)} ${x === 1 ? one : many}`;
const iso = (ms: number) => new Date(ms).toISOString();
const WHEN = '{date_short_pretty} at {time}';

const SEVERITY_WORDS: readonly [keyof SeverityCounts, string, string][] = [
  ['critical', SEVERITY_MARK.critical, 'critical'],
  ['high', SEVERITY_MARK.high, 'high'],
  ['medium', SEVERITY_MARK.medium, 'medium'],
  ['low', SEVERITY_MARK.low, 'low'],
  ['none', NO_SEVERITY_MARK, 'no severity'],
];

function severityLine(s: SeverityCounts): string {
  return SEVERITY_WORDS.filter(([k]) => s[k] > 0)
    .map(([k, mark, word]) => `${mark} ${n(s[k])} ${word}`)
    .join(' · ');
}

/** "+N more — Show alerts": what ends an id list that did not fit. */
const moreText = (rest: number) => ` … +${n(rest)} more — *Show alerts*`;

/**
 * As many spans as fit in `room` characters (escaped), then "+N more" for the rest. `total`: how many
 * ids there are in all (the spans may stand for fewer: the store reads a bounded number of them).
 */
export function fitIds(
  spans: readonly IdSpan[],
  room: number,
  total = spans.reduce((s, x) => s + x.count, 0),
): { text: string; shown: number; total: number } {
  const listed = spans.reduce((s, x) => s + x.count, 0);
  // Everything fits: no room needs to be kept for "+N more".
  const all = spans.map((x) => mrkdwn(oneLine(x.text), 64)).join(SEP);
  if (listed >= total && all.length <= room) return { text: all, shown: total, total };
  const parts: string[] = [];
  let used = 0;
  let shown = 0;
  for (const [i, span] of spans.entries()) {
    const text = mrkdwn(oneLine(span.text), 64);
    const add = (parts.length ? SEP.length : 0) + text.length;
    const last = i === spans.length - 1 && listed >= total;
    const reserve = last ? 0 : moreText(total - shown - span.count).length;
    if (used + add + reserve > room) break;
    parts.push(text);
    used += add;
    shown += span.count;
  }
  const rest = total - shown;
  if (rest === 0) return { text: parts.join(SEP), shown, total };
  const more = parts.length ? moreText(rest) : moreText(rest).replace(/^ … /, '');
  return { text: parts.join(SEP) + more, shown, total };
}

/** The tally of a bulk close, as a context line (mrkdwn). */
export function tallyText(t: BulkTally, failedMax: number): string {
  const by = mrkdwn(oneLine(t.by.name), 80) || 'someone';
  if (t.state === 'running') {
    return `:hourglass_flowing_sand: Closing as false positive… *${n(tallyDone(t))}/${n(t.total)}* — started by ${by} ${slackDate(iso(t.startedAt), WHEN)}`;
  }
  const when = slackDate(iso(t.finishedAt ?? t.startedAt), WHEN);
  const counts = [
    `*Closed ${n(t.closed)}*`,
    `already closed ${n(t.alreadyClosed)}`,
    `changed since ${n(t.changedSince)}`,
    `failed ${n(t.failed.length)}`,
  ].join(' · ');
  const mark = t.failed.length || t.changedSince ? ':warning:' : ':white_check_mark:';
  const changed = t.changedSince ? '\nChanged since the digest (not closed — look at them): see *Show alerts*.' : '';
  return `${mark} Closed as false positive by ${by} ${when}: ${counts}${changed}${failedText(t.failed, failedMax)}`;
}

/** "Failed: COT-5–COT-9 (the API key lacks alert.triage); COT-12 (timeout)", within `max`. */
function failedText(failed: BulkTally['failed'], max: number): string {
  if (failed.length === 0 || max <= 0) return '';
  const byWhy = new Map<string, string[]>();
  for (const f of failed) {
    const list = byWhy.get(f.why) ?? [];
    list.push(f.displayId);
    byWhy.set(f.why, list);
  }
  const head = '\nFailed: ';
  let room = max - head.length;
  const parts: string[] = [];
  let left = failed.length;
  for (const [why, ids] of byWhy) {
    const whyText = mrkdwn(oneLine(why), 120) || 'error';
    const reserve = ` … +${n(left)} more`.length;
    const budget = room - whyText.length - 4 - reserve;
    if (budget < 12) break;
    const fitted = fitIds(compactIds(ids), budget);
    const part = `${fitted.text.replace(/ — \*Show alerts\*$/, '')} (${whyText})`;
    parts.push(part);
    room -= part.length + 2;
    left -= ids.length;
  }
  return `${head}${parts.join('; ')}${left > 0 ? ` … +${n(left)} more` : ''}`;
}

type Prepared = {
  group: DigestGroup;
  index: number;
  spans: IdSpan[];
  /** The section text without ids. */
  head: string;
  tally: BulkTally | undefined;
  tallyLine: string | null;
  buttons: Button[];
};

function groupHead(g: DigestGroup, d: Detail): string {
  const name =
    g.key === ESCALATED_GROUP
      ? ':rotating_light: *Escalated*'
      : literal(oneLine(g.name) || 'Unnamed detection', d.nameMax);
  const live = g.live === g.count ? `${n(g.live)} live` : g.live === 0 ? 'none live' : `${n(g.live)} still live`;
  const lines = [`${name} — *${plural(g.count, 'alert')}* · ${live}`, severityLine(g.severities)];
  lines.push(
    g.count === 1 || g.firstSeen === g.lastSeen
      ? `Seen ${slackDate(g.firstSeen, WHEN)}`
      : `First ${slackDate(g.firstSeen, WHEN)} · last ${slackDate(g.lastSeen, WHEN)}`,
  );
  const examples = g.examples
    .slice(0, d.examples)
    .map((t) => literal(oneLine(t) || 'Untitled alert', d.titleMax))
    .filter(Boolean);
  if (examples.length) lines.push(`e.g. ${examples.join(' · ')}`);
  return lines.filter(Boolean).join('\n');
}

function button(text: string, actionId: string, value: string, style?: 'danger'): Button {
  return {
    type: 'button',
    action_id: actionId,
    text: { type: 'plain_text', text: plain(text, LIMITS.buttonText), emoji: true },
    value,
    ...(style ? { style } : {}),
  };
}

/** A group that is one detection (not the escalated group, not a source's alerts): it can be muted. */
const isDetectionGroup = (g: DigestGroup) => g.key !== ESCALATED_GROUP && !g.key.startsWith('source:');

function groupButtons(storm: Storm, g: DigestGroup, tally: BulkTally | undefined): Button[] {
  try {
    const show = button(
      'Show alerts',
      DIGEST_ACTIONS.showAlerts,
      encodeDigestButton({ v: 1, k: 'show', s: storm.id, g: g.key, p: 0 }),
    );
    const mute = isDetectionGroup(g)
      ? [button('Mute detection…', ACTIONS.digestMute, encodeDigestMute({ v: 1, s: storm.id, g: g.key }))]
      : [];
    if (g.live === 0 || tally) return [show, ...mute];
    const close = button(
      'Close all as false positive…',
      DIGEST_ACTIONS.closeAll,
      encodeDigestButton({ v: 1, k: 'close', s: storm.id, g: g.key }),
      'danger',
    );
    return [show, ...mute, close];
  } catch {
    return []; // a key or storm id that cannot travel in a button: the group is shown without them
  }
}

function prepare(
  storm: Storm,
  shown: readonly DigestGroup[],
  tallies: ReadonlyMap<string, BulkTally>,
  d: Detail,
): Prepared[] {
  return shown.map((group, index) => {
    const tally = tallies.get(group.key);
    return {
      group,
      index,
      spans: group.spans,
      head: groupHead(group, d),
      tally,
      tallyLine: tally ? tallyText(tally, d.failedMax) : null,
      buttons: groupButtons(storm, group, tally),
    };
  });
}

/** The characters the text objects of `blocks` hold (what Slack's size limit counts). */
export function blocksTextLength(blocks: readonly unknown[]): number {
  let total = 0;
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) for (const x of node) walk(x);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') total += o.text.length;
      for (const v of Object.values(o)) if (v && typeof v === 'object') walk(v);
    }
  };
  walk(blocks);
  return total;
}

/** Context elements of at most ID_CHUNK characters, cut between two ids. */
function chunkIds(ids: string): string[] {
  const out: string[] = [];
  let rest = ids;
  while (rest.length > ID_CHUNK) {
    const cut = rest.lastIndexOf(SEP, ID_CHUNK - SEP.length);
    const at = cut > 0 ? cut : ID_CHUNK;
    out.push(rest.slice(0, at));
    rest = rest.slice(cut > 0 ? at + SEP.length : at);
  }
  if (rest) out.push(rest);
  return out;
}

function groupBlocks(p: Prepared, ids: string): KnownBlock[] {
  const base = `${DIGEST_BLOCKS.group}${p.index}`;
  const blocks: KnownBlock[] = [{ type: 'section', block_id: base, text: md(p.head) } satisfies SectionBlock];
  const elements = [...chunkIds(ids), ...(p.tallyLine ? [p.tallyLine] : [])].map(md);
  if (elements.length) {
    blocks.push({ type: 'context', block_id: `${base}.ids`, elements } satisfies ContextBlock);
  }
  if (p.buttons.length) {
    blocks.push({ type: 'actions', block_id: `${base}.actions`, elements: p.buttons } satisfies ActionsBlock);
  }
  return blocks;
}

/** Shares `room` between groups: each gets what it needs up to an equal share of what is left. */
function share(needs: readonly number[], room: number): number[] {
  const out = needs.map(() => 0);
  const order = needs.map((need, i) => ({ need, i })).sort((a, b) => a.need - b.need);
  let left = Math.max(0, room);
  order.forEach(({ need, i }, k) => {
    const fair = Math.floor(left / (order.length - k));
    out[i] = Math.min(need, fair);
    left -= out[i] ?? 0;
  });
  return out;
}

export function renderDigest(
  storm: Storm,
  digest: StormDigest,
  tallies: ReadonlyMap<string, BulkTally>,
  ctx: DigestContext,
): SlackView {
  const budget = ctx.textBudget ?? TEXT_BUDGET;
  const { total, live, groupCount, other } = digest;
  const over = storm.endedAt !== null;
  const shown = digest.groups.slice(0, MAX_GROUPS_SHOWN);

  const headline = over ? `Storm over: ${plural(total, 'alert')}` : `Alert storm: ${plural(total, 'alert')}`;
  const header: HeaderBlock = {
    type: 'header',
    block_id: DIGEST_BLOCKS.header,
    text: { type: 'plain_text', text: plain(`⛈ ${headline}`, LIMITS.header), emoji: true },
  };
  const span = over
    ? `From ${slackDate(iso(storm.startedAt), WHEN)} to ${slackDate(iso(storm.endedAt ?? storm.lastAddedAt), WHEN)}`
    : `Since ${slackDate(iso(storm.startedAt), WHEN)} · latest ${slackDate(iso(storm.lastAddedAt), WHEN)}`;
  const summary: ContextBlock = {
    type: 'context',
    block_id: DIGEST_BLOCKS.summary,
    elements: [
      md(
        `${span} · ${plural(groupCount, 'group')} · ${n(live)} still live\nToo many alerts for a card each: they are grouped here. *Show alerts* lists a group with a View button on each alert; every alert id is listed in this message's thread.`,
      ),
    ],
  };
  const otherBlocks: KnownBlock[] = [];
  if (other.groups > 0) {
    const section: SectionBlock = {
      type: 'section',
      block_id: DIGEST_BLOCKS.other,
      text: md(
        `*+${plural(other.groups, 'more detection')}: ${plural(other.count, 'alert')}* · ${n(other.live)} still live — *Show alerts* lists them all`,
      ),
    };
    try {
      section.accessory = button(
        'Show alerts',
        DIGEST_ACTIONS.showAlerts,
        encodeDigestButton({ v: 1, k: 'show', s: storm.id, p: 0 }),
      );
    } catch {
      // a storm id that cannot travel in a button: the line stays, without its button
    }
    otherBlocks.push(section);
  }
  const frame = [header, summary, ...otherBlocks];

  // The most detail that leaves every group some room for ids.
  let prepared: Prepared[] = [];
  let fixed = 0;
  for (const d of DETAILS) {
    prepared = prepare(storm, shown, tallies, d);
    fixed = blocksTextLength([...frame, ...prepared.flatMap((p) => groupBlocks(p, ''))]);
    if (fixed + MIN_ID_ROOM * prepared.length <= budget) break;
  }
  const needs = prepared.map((p) => {
    const full = p.spans.reduce((s, x, i) => s + (i ? SEP.length : 0) + mrkdwn(oneLine(x.text), 64).length, 0);
    // Spans the store did not read are counted in "+N more".
    const unread = p.group.count - p.spans.reduce((s, x) => s + x.count, 0);
    return Math.min(full + (unread > 0 ? moreText(p.group.count).length : 0), ID_ROOM_MAX);
  });
  const rooms = share(needs, budget - fixed);
  const groupSections = prepared.flatMap((p, i) =>
    groupBlocks(p, fitIds(p.spans, Math.max(0, rooms[i] ?? 0), p.group.count).text),
  );

  const blocks: KnownBlock[] = [header, summary, ...groupSections, ...otherBlocks];
  const since = slackDate(iso(storm.startedAt), '{time}');
  const text = over
    ? `⛈ Storm over: ${plural(total, 'alert')} in ${plural(groupCount, 'group')}`
    : `⛈ Alert storm: ${plural(total, 'alert')} since ${since} in ${plural(groupCount, 'group')}`;
  return { text, blocks };
}

// ---------------------------------------------------------------------------------------------
// Id lists: every id of a storm, one by one, in replies in the digest's thread

/**
 * The characters an id-list reply's blocks may hold: under the ~13,000 at which Slack refuses a
 * message, as the digest's TEXT_BUDGET. 12,000 holds about 1,000 ids of the `COT-12345` kind, so a
 * storm of 1,000 alerts needs one reply (two past ~990 five-digit ids).
 */
export const ID_LIST_BUDGET = 12_000;

/** One id as a code span (copied and searched intact), escaped; one holding a backtick as escaped text. */
function idText(id: string): string {
  const one = oneLine(id) || '?';
  return one.includes('`') ? mrkdwn(one, 64) : `\`${mrkdwn(one, 62)}\``;
}

const idListHead = (from: number, count: number) =>
  `:ledger: Alert ids in this storm, ${n(from)}–${n(from + count - 1)} (in the order they came):\n`;

/**
 * How many of `ids` (from the first) one id-list reply holds within `budget` characters: at least
 * one, so a list always moves on.
 */
export function idListFits(ids: readonly string[], budget = ID_LIST_BUDGET): number {
  // The head is sized for the widest numbers a reply can name.
  let used = idListHead(1e9, 1).length;
  let fit = 0;
  for (const id of ids) {
    const add = (fit ? 1 : 0) + idText(id).length;
    if (fit > 0 && used + add > budget) break;
    used += add;
    fit++;
  }
  return fit;
}

/**
 * An id-list reply: `ids` (untrusted, escaped; as `idListFits` cut them), the storm's members number
 * `from` (1-based) onward, each as a code span, in sections of at most ID_CHUNK characters cut between
 * two ids (the message text, for notifications, says which members the reply lists).
 */
export function renderIdList(ids: readonly string[], from: number): SlackView {
  return renderIdSections(ids, idListHead(from, ids.length).trimEnd(), DIGEST_BLOCKS.ids);
}

/**
 * `head`, then `ids` (untrusted, escaped) each as a code span, in sections of at most ID_CHUNK
 * characters cut between two ids, block ids `<blockPrefix><n>`. Shared by the storm's id lists and
 * the muted-alert lists (src/slack/views/mute.ts); a head no longer than the storm's keeps
 * `idListFits` right for both.
 */
export function renderIdSections(
  ids: readonly string[],
  head: string,
  blockPrefix: string,
): { text: string; blocks: SectionBlock[] } {
  const sections: string[] = [head];
  for (const id of ids.map(idText)) {
    const last = sections.length - 1;
    const cur = sections[last] ?? '';
    if (last > 0 && cur.length + 1 + id.length <= ID_CHUNK) sections[last] = `${cur} ${id}`;
    else sections.push(id);
  }
  const blocks: SectionBlock[] = sections.map((text, i) => ({
    type: 'section',
    block_id: `${blockPrefix}${i}`,
    text: md(text),
  }));
  return { text: head, blocks };
}
