/**
 * "Show alerts" on a storm digest: a page of one group's members (or of every group the digest does
 * not show one by one), live ones first, then by severity and age, paged in the database. Read from the store — the members'
 * status is what the poller and bulk closes last recorded; each row's View button reads Cotool.
 *
 * Access policy as for every look-up: a refusal reads nothing.
 */

import { ESCALATED_GROUP, MAX_GROUPS_SHOWN } from '../core/digest.ts';
import type { StormMember } from '../core/records.ts';
import type { Store } from '../ports.ts';
import type { AccessPolicy, AccessRefusal } from './access.ts';

export const STORM_PAGE_SIZE = 10;

export type StormAlertsDeps = {
  store: Pick<Store, 'getStorm' | 'stormDigest' | 'stormMemberPage'>;
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

export function createStormAlerts(deps: StormAlertsDeps): (input: StormAlertsInput) => Promise<StormAlertsResult> {
  return async (input) => {
    const decision = await deps.access.check(input.userId);
    if (!decision.ok) return { ok: false, code: 'denied', reason: decision.reason };
    const storm = await deps.store.getStorm(input.stormId);
    if (!storm) return { ok: false, code: 'not_found' };
    // "All other": every group but those the digest shows one by one (paged in the database).
    const which =
      input.groupKey !== null
        ? { groupKey: input.groupKey }
        : {
            exceptGroups: (
              await deps.store.stormDigest(storm.id, { groups: MAX_GROUPS_SHOWN, examples: 0, spans: 0 })
            ).groups.map((g) => g.key),
          };
    const size = STORM_PAGE_SIZE;
    let page = Math.max(0, input.page);
    let got = await deps.store.stormMemberPage(storm.id, which, { offset: page * size, limit: size });
    if (input.groupKey !== null && got.total === 0) return { ok: false, code: 'not_found' };
    const pages = Math.max(1, Math.ceil(got.total / size));
    if (page > pages - 1) {
      page = pages - 1;
      got = await deps.store.stormMemberPage(storm.id, which, { offset: page * size, limit: size });
    }
    return {
      ok: true,
      stormId: storm.id,
      groupKey: input.groupKey,
      groupName: input.groupKey === null ? null : got.groupName,
      escalated: input.groupKey === ESCALATED_GROUP,
      page,
      pages,
      total: got.total,
      live: got.live,
      members: got.members,
      stormOver: storm.endedAt !== null,
    };
  };
}
