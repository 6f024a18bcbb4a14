/**
 * "Show alerts" on a storm digest: a page of one group's members (or of every group the digest does
 * not show one by one), live ones first, then by severity and age. Read from the store — the members'
 * status is what the poller and bulk closes last recorded; each row's View button reads Cotool.
 *
 * Access policy as for every look-up: a refusal reads nothing.
 */

import { isLive } from '../cotool/schemas.ts';
import { ESCALATED_GROUP, groupMembers, membersOf, severityRank } from '../notify/digest.ts';
import type { Store, StormMember } from '../store/store.ts';
import type { AccessPolicy, AccessRefusal } from './access.ts';

export const STORM_PAGE_SIZE = 10;

export type StormAlertsDeps = {
  store: Pick<Store, 'getStorm' | 'stormMembers'>;
  access: Pick<AccessPolicy, 'check'>;
};

export type StormAlertsInput = {
  stormId: string;
  /** null: every group the digest does not show one by one. */
  groupKey: string | null;
  page: number;
  userId: string;
};

export type StormAlertsPage = {
  ok: true;
  stormId: string;
  groupKey: string | null;
  /** The group's display name (untrusted); null for "all other". */
  groupName: string | null;
  escalated: boolean;
  /** 0-based; clamped to the last page. */
  page: number;
  pages: number;
  total: number;
  live: number;
  members: StormMember[];
  stormOver: boolean;
};

export type StormAlertsResult =
  | StormAlertsPage
  | { ok: false; code: 'denied'; reason: AccessRefusal }
  | { ok: false; code: 'not_found' };

const order = (a: StormMember, b: StormMember) =>
  Number(isLive(b.status)) - Number(isLive(a.status)) ||
  severityRank(a.severity) - severityRank(b.severity) ||
  a.createdAt.localeCompare(b.createdAt) ||
  a.displayId.localeCompare(b.displayId);

export function createStormAlerts(deps: StormAlertsDeps): (input: StormAlertsInput) => Promise<StormAlertsResult> {
  return async (input) => {
    const decision = await deps.access.check(input.userId);
    if (!decision.ok) return { ok: false, code: 'denied', reason: decision.reason };
    const storm = await deps.store.getStorm(input.stormId);
    if (!storm) return { ok: false, code: 'not_found' };
    const all = await deps.store.stormMembers(storm.id);
    const members = membersOf(all, input.groupKey).sort(order);
    if (input.groupKey !== null && members.length === 0) return { ok: false, code: 'not_found' };
    const pages = Math.max(1, Math.ceil(members.length / STORM_PAGE_SIZE));
    const page = Math.min(Math.max(0, input.page), pages - 1);
    const group = input.groupKey === null ? null : groupMembers(members)[0];
    return {
      ok: true,
      stormId: storm.id,
      groupKey: input.groupKey,
      groupName: group?.name ?? null,
      escalated: input.groupKey === ESCALATED_GROUP,
      page,
      pages,
      total: members.length,
      live: members.filter((m) => isLive(m.status)).length,
      members: members.slice(page * STORM_PAGE_SIZE, (page + 1) * STORM_PAGE_SIZE),
      stormOver: storm.endedAt !== null,
    };
  };
}
