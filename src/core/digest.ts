/**
 * The storm digest's domain, pure: which group an alert belongs to, the groups of a storm's members
 * (what the digest shows, in its order), the bulk-close tally stored on the storm, and the compact
 * form of a list of alert ids (consecutive ids collapse into ranges).
 *
 * No Slack here: the view (src/slack/views/digest.ts) renders these, the poller groups with
 * `groupOf`, and the bulk-close use-case reads and writes the tally.
 */
import { z } from 'zod';
import { type Alert, isLive } from './alert.ts';
import type {
  IdSpan,
  SeverityCounts,
  StormDigest,
  StormDigestGroup,
  StormDigestLimits,
  StormMember,
} from './records.ts';

export type { IdSpan, SeverityCounts, StormDigest };

/** The key of the group of escalated alerts (shown first). */
export const ESCALATED_GROUP = 'escalated';
/** Groups shown one by one in the digest; the rest are summarised in one line ("+7 more detections"). */
export const MAX_GROUPS_SHOWN = 12;
/** Example titles per group. */
export const MAX_EXAMPLES = 3;
/**
 * Id spans read per group shown: more than the digest's text budget can ever hold (12,000
 * characters, at least 7 a span), so a group's list is cut by the budget, never by this.
 */
export const MAX_SPANS = 2_000;
/** What the digest reads of a storm (Store.stormDigest). */
export const DIGEST_LIMITS: StormDigestLimits = { groups: MAX_GROUPS_SHOWN, examples: MAX_EXAMPLES, spans: MAX_SPANS };
/** Keys stay short: they travel in button values and are compared, never shown. */
const KEY_MAX = 100;

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
const KEY_DROPPED = /[\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * At most `max` code points of `s`, on one line, well-formed (a key never splits a surrogate pair),
 * without control or bidi-override characters (keys travel in button values, which refuse them).
 */
function keyPart(s: string, max = KEY_MAX): string {
  const flat = s
    .toWellFormed()
    .replace(KEY_DROPPED, '')
    .replace(/[\s\u0085]+/g, ' ')
    .trim();
  return Array.from(flat).slice(0, max).join('');
}

/**
 * The digest group of an alert: escalated alerts together; otherwise by detection id, else by
 * detection name (`name:<name>`), else by source (`source:<name>`). `name` is for display (untrusted:
 * a detection's name is escaped by the view like any alert text).
 */
export function groupOf(alert: Pick<Alert, 'status' | 'detection' | 'source'>): { key: string; name: string } {
  if (alert.status === 'escalated') return { key: ESCALATED_GROUP, name: 'Escalated' };
  const det = alert.detection;
  const detName = det?.name?.trim() ? det.name : null;
  const detId = det?.id?.trim() ? keyPart(det.id) : null;
  if (detId && detId !== ESCALATED_GROUP) return { key: detId, name: detName ?? `Detection ${detId}` };
  if (detName) return { key: `name:${keyPart(detName)}`, name: detName };
  const source = alert.source?.name?.trim() ? keyPart(alert.source.name, 60) : null;
  if (source) return { key: `source:${source}`, name: `Source: ${source}` };
  return { key: 'source:', name: 'Other alerts' };
}

// ---------------------------------------------------------------------------------------------
// Groups

/** A group as the digest shows it (aggregated by the store: Store.stormDigest). */
export type DigestGroup = StormDigestGroup;

const SEVERITY_RANK: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3 };
export const severityRank = (s: string | null): number => (s ? (SEVERITY_RANK[s] ?? 4) : 4);

const time = (iso: string): number => {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : Number.POSITIVE_INFINITY;
};

/**
 * Groups members: the escalated group first, then by size (largest first), ties by first seen. The
 * reference for what Store.stormDigest computes in SQL (which the digest is drawn from: this one
 * holds every member in memory).
 */
export function groupMembers(members: readonly StormMember[]): DigestGroup[] {
  const byKey = new Map<
    string,
    { group: DigestGroup; first: number; order: number; titles: Set<string>; ids: string[] }
  >();
  for (const m of members) {
    let entry = byKey.get(m.groupKey);
    if (!entry) {
      entry = {
        group: {
          key: m.groupKey,
          name: m.groupName,
          count: 0,
          severities: { critical: 0, high: 0, medium: 0, low: 0, none: 0 },
          firstSeen: m.createdAt,
          lastSeen: m.createdAt,
          examples: [],
          spans: [],
          live: 0,
        },
        first: time(m.createdAt),
        order: byKey.size,
        titles: new Set(),
        ids: [],
      };
      byKey.set(m.groupKey, entry);
    }
    const g = entry.group;
    g.count++;
    const sev = m.severity && m.severity in g.severities ? (m.severity as keyof SeverityCounts) : 'none';
    g.severities[sev]++;
    const t = time(m.createdAt);
    if (t < entry.first || !Number.isFinite(entry.first)) {
      entry.first = t;
      g.firstSeen = m.createdAt;
    }
    if (t > time(g.lastSeen) || !Number.isFinite(time(g.lastSeen))) g.lastSeen = m.createdAt;
    const title = m.title.trim();
    if (g.examples.length < MAX_EXAMPLES && title && !entry.titles.has(title)) {
      entry.titles.add(title);
      g.examples.push(m.title);
    }
    entry.ids.push(m.displayId);
    if (isLive(m.status)) g.live++;
  }
  return [...byKey.values()]
    .sort((a, b) => {
      const ea = a.group.key === ESCALATED_GROUP ? 0 : 1;
      const eb = b.group.key === ESCALATED_GROUP ? 0 : 1;
      return ea - eb || b.group.count - a.group.count || a.first - b.first || a.order - b.order;
    })
    .map((e) => ({ ...e.group, spans: compactIds(e.ids) }));
}

/** The digest's aggregate from members in memory (Store.stormDigest computes it in SQL). */
export function digestOf(members: readonly StormMember[], limits: StormDigestLimits = DIGEST_LIMITS): StormDigest {
  const all = groupMembers(members);
  const groups = all
    .slice(0, limits.groups)
    .map((g) => ({ ...g, examples: g.examples.slice(0, limits.examples), spans: g.spans.slice(0, limits.spans) }));
  const rest = all.slice(limits.groups);
  return {
    total: members.length,
    live: members.filter((m) => isLive(m.status)).length,
    groupCount: all.length,
    groups,
    other: {
      groups: rest.length,
      count: rest.reduce((n, g) => n + g.count, 0),
      live: rest.reduce((n, g) => n + g.live, 0),
    },
  };
}

/** The groups the digest shows one by one, and the rest ("all other"). */
export function splitShown(groups: readonly DigestGroup[]): { shown: DigestGroup[]; other: DigestGroup[] } {
  return { shown: groups.slice(0, MAX_GROUPS_SHOWN), other: groups.slice(MAX_GROUPS_SHOWN) };
}

/**
 * The members of one group (`groupKey`), or of every group the digest does not show one by one
 * (`groupKey` null: "all other"), in the order they arrived.
 */
export function membersOf(members: readonly StormMember[], groupKey: string | null): StormMember[] {
  if (groupKey !== null) return members.filter((m) => m.groupKey === groupKey);
  const shown = new Set(splitShown(groupMembers(members)).shown.map((g) => g.key));
  return members.filter((m) => !shown.has(m.groupKey));
}

// ---------------------------------------------------------------------------------------------
// The bulk-close tally, stored as JSON on the storm (`storm.tally`), keyed by group key.

const ActorSchema = z.strictObject({ id: z.string().min(1).max(64), name: z.string().max(200) });
const FailedSchema = z.strictObject({
  alertId: z.string().min(1).max(200),
  displayId: z.string().min(1).max(200),
  why: z.string().max(500),
});
const count = z.number().int().nonnegative();
export const BulkTallySchema = z.strictObject({
  state: z.enum(['running', 'done']),
  by: ActorSchema,
  total: count,
  closed: count,
  alreadyClosed: count,
  changedSince: count,
  failed: z.array(FailedSchema),
  /** Epoch ms. */
  startedAt: count,
  finishedAt: count.nullable(),
});
export type BulkTally = z.infer<typeof BulkTallySchema>;
export type BulkFailure = BulkTally['failed'][number];

/** How many alerts a tally has dealt with so far. */
export const tallyDone = (t: BulkTally): number => t.closed + t.alreadyClosed + t.changedSince + t.failed.length;

/**
 * The tallies of a storm, by group key. Never throws: a value that is not JSON, or not an object,
 * reads as no tallies; an entry that does not parse is dropped (the others are kept).
 */
export function parseTallies(json: string | null | undefined): Map<string, BulkTally> {
  const out = new Map<string, BulkTally>();
  if (!json) return out;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return out;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return out;
  for (const [key, value] of Object.entries(raw)) {
    const parsed = BulkTallySchema.safeParse(value);
    if (parsed.success) out.set(key, parsed.data);
  }
  return out;
}

/** JSON for `storm.tally`. Throws on an invalid tally (a bug in the caller). */
export function serializeTallies(tallies: ReadonlyMap<string, BulkTally>): string {
  const obj: Record<string, BulkTally> = Object.create(null);
  for (const [key, t] of tallies) obj[key] = BulkTallySchema.parse(t);
  return JSON.stringify(obj);
}

// ---------------------------------------------------------------------------------------------
// Compact ids

/** `COT-123`: a prefix ending in `-` and a number without leading zeros. */
const NUMBERED = /^([A-Za-z][A-Za-z0-9_]*-)(0|[1-9]\d{0,14})$/;
const EN_DASH = '–';

/**
 * Display ids as compact spans, sorted: numbered ids by prefix then number, consecutive runs of
 * three or more collapsed into a range (`COT-100–COT-1099`); other ids as they are, after them.
 * Duplicates are dropped.
 */
export function compactIds(ids: Iterable<string>): IdSpan[] {
  const numbered = new Map<string, Set<number>>();
  const other = new Set<string>();
  for (const id of ids) {
    const m = NUMBERED.exec(id);
    if (!m) {
      other.add(id);
      continue;
    }
    const [, prefix = '', n = '0'] = m;
    const set = numbered.get(prefix) ?? new Set<number>();
    set.add(Number(n));
    numbered.set(prefix, set);
  }
  const spans: IdSpan[] = [];
  for (const prefix of [...numbered.keys()].sort()) {
    const nums = [...(numbered.get(prefix) ?? [])].sort((a, b) => a - b);
    let i = 0;
    while (i < nums.length) {
      let j = i;
      while (j + 1 < nums.length && nums[j + 1] === (nums[j] ?? 0) + 1) j++;
      const run = j - i + 1;
      const from = `${prefix}${nums[i]}`;
      if (run >= 3) spans.push({ text: `${from}${EN_DASH}${prefix}${nums[j]}`, count: run });
      else for (let k = i; k <= j; k++) spans.push({ text: `${prefix}${nums[k]}`, count: 1 });
      i = j + 1;
    }
  }
  for (const id of [...other].sort()) spans.push({ text: id, count: 1 });
  return spans;
}

/** The compact list as one string ("COT-1–COT-9, COT-12"). */
export function formatIds(ids: Iterable<string>): string {
  return compactIds(ids)
    .map((s) => s.text)
    .join(', ');
}

/** Members still live. */
export const liveMembers = (members: readonly StormMember[]): StormMember[] => members.filter((m) => isLive(m.status));
