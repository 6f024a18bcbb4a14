/**
 * Muting a noisy detection (issue 14, part 3): the use-cases behind "Mute detection…", Unmute, the
 * leader's expiry of mutes whose time ran out, and the list of mutes holding now.
 *
 * Exactly once: a mute is created, and ended, by one store change with its outbox items — the
 * announcement (which is also the quiet counter of the alerts held back), its redraw, and the
 * "ended" announcement with the tally. A second mute of the same detection in the same channel, a
 * second Unmute, or a second replica ending the same mute conflicts: someone else did it first, and
 * the caller is told so. The mute is recorded as a Cotool comment on the alert it was made from,
 * naming who muted it, for how long and why. Results, not exceptions.
 */
import { randomUUID } from 'node:crypto';
import type { Alert } from '../core/alert.ts';
import { authorOf, cleanTyped } from '../core/attribution.ts';
import { detectionKeyOf, type MuteChoice, muteEnd } from '../core/mutes.ts';
import { muteEndItem, muteMessageItem, muteUpdateItem } from '../core/outbox.ts';
import type { Mute } from '../core/records.ts';
import { newRef, truncate } from '../core/text.ts';
import { isCotoolError } from '../cotool/errors.ts';
import type { Logger } from '../log.ts';
import type { CotoolClient, Store } from '../ports.ts';
import type { AccessPolicy, AccessRefusal } from './access.ts';
import type { Actor } from './card-sync.ts';

/** What the modal accepts as a reason (src/slack/views/mute.ts MUTE_REASON_MAX says the same). */
export const REASON_MAX = 500;
/** The escalated group of a storm's digest (src/notify/digest.ts ESCALATED_GROUP): no detection to mute. */
const ESCALATED_GROUP = 'escalated';

export type MuteDeps = {
  store: Pick<Store, 'apply' | 'activeMutes' | 'getMute' | 'dueMuteEnds' | 'getStorm' | 'stormMemberPage'>;
  cotool: Pick<CotoolClient, 'addComment' | 'getAlert'>;
  access: Pick<AccessPolicy, 'check'>;
  logger: Logger;
  clock?: () => number;
};

export type MuteInput = {
  /** The channel the mute holds in (the card's, or the digest's). */
  channel: string;
  detectionKey: string;
  detectionName: string;
  /** The alert it was made from (its Cotool comment goes there); null from a digest group without one. */
  sourceAlertId: string | null;
  /** The Slack user muting. */
  userId: string;
  choice: MuteChoice;
  /** When it ends (epoch ms), as the form worked it out. */
  until: number;
  reason: string;
};

export type MuteResult =
  | { ok: true; mute: Mute; commented: boolean }
  | { ok: false; code: 'denied'; reason: AccessRefusal }
  | { ok: false; code: 'no_reason' | 'reason_too_long' | 'in_the_past' | 'too_long' }
  /** The detection is muted in that channel already (a double submit, or someone else first). */
  | { ok: false; code: 'already_muted'; mute: Mute | null };

/** What a digest group's "Mute detection…" mutes: the storm's channel, the group's detection, an alert of it. */
export type GroupTarget =
  | { ok: true; channel: string; detectionKey: string; detectionName: string; sourceAlertId: string | null }
  | { ok: false; code: 'not_found' | 'no_detection' };

export type UnmuteResult =
  | { ok: true; mute: Mute }
  | { ok: false; code: 'denied'; reason: AccessRefusal }
  | { ok: false; code: 'not_found' }
  /** Ended already: it ran out, or someone else unmuted it first. */
  | { ok: false; code: 'already_ended'; mute: Mute };

const CHOICE_WORDS: Record<MuteChoice, string> = { '1h': '1 hour', '4h': '4 hours', '24h': '24 hours', until: '' };

function spanWords(ms: number): string {
  const min = Math.max(1, Math.round(ms / 60_000));
  if (min < 60) return `${min} min`;
  const h = Math.round(min / 6) / 10;
  return h < 48 ? `${h} h` : `${Math.round(h / 2.4) / 10} days`;
}

/**
 * The Cotool comment on the alert a mute was made from: "Detection “X” muted from Slack by Jane Doe
 * (<@U…>) in channel C… for 4 hours, until 2026-12-06T14:00:00.000Z: <reason>". Within 20,000 characters.
 */
export function muteCommentBody(
  actor: Actor,
  m: { detectionName: string; channel: string; choice: MuteChoice; createdAt: number; until: number; reason: string },
): string {
  const author = authorOf(actor);
  const detection = truncate(cleanTyped(m.detectionName).replace(/\s+/g, ' '), 200);
  const span = CHOICE_WORDS[m.choice] || spanWords(m.until - m.createdAt);
  const head = `Detection “${detection}” muted from Slack by ${author} in channel ${m.channel} for ${span}, until ${new Date(m.until).toISOString()}`;
  return `${head}: ${truncate(cleanTyped(m.reason), 20_000 - head.length - 2)}`;
}

/**
 * The detection a digest group stands for (src/notify/digest.ts groupOf → src/core/mutes.ts
 * detectionKeyOf): a group of a detection id is `id:<id>`, one of a detection name `name:<name>`;
 * the escalated group and groups by source have no detection (null).
 */
export function detectionKeyOfGroup(groupKey: string): string | null {
  if (groupKey === ESCALATED_GROUP || groupKey.startsWith('source:')) return null;
  if (groupKey.startsWith('name:')) return groupKey.length > 5 ? groupKey : null;
  return groupKey ? `id:${groupKey}` : null;
}

/** The detection of an alert as a mute names it: its key, and a name to show (its name, else its id). */
export function detectionOf(alert: Pick<Alert, 'detection'>): { key: string; name: string } | null {
  const key = detectionKeyOf(alert);
  if (!key) return null;
  const d = alert.detection;
  const name = d?.name?.trim() || d?.id?.trim() || key;
  return { key, name };
}

export function createMuteService(deps: MuteDeps) {
  const log = deps.logger.child({ module: 'mute' });
  const clock = deps.clock ?? Date.now;

  async function findHolding(channel: string, detectionKey: string): Promise<Mute | null> {
    const now = clock();
    const all = await deps.store.activeMutes();
    return (
      all.find(
        (m) => m.channel === channel && m.detectionKey === detectionKey && m.endedAt === null && now < m.until,
      ) ??
      all.find((m) => m.channel === channel && m.detectionKey === detectionKey && m.endedAt === null) ??
      null
    );
  }

  async function mute(input: MuteInput): Promise<MuteResult> {
    const decision = await deps.access.check(input.userId);
    if (!decision.ok) {
      log.info({ userId: input.userId, reason: decision.reason }, 'refused a mute');
      return { ok: false, code: 'denied', reason: decision.reason };
    }
    const actor: Actor = { id: input.userId, name: decision.user.name };
    const reason = cleanTyped(input.reason);
    if (!reason) return { ok: false, code: 'no_reason' };
    if (reason.length > REASON_MAX) return { ok: false, code: 'reason_too_long' };
    const now = clock();
    // A span picked (1 h, 4 h, 24 h) runs from now; a time picked is checked again on this clock.
    const end = muteEnd(input.choice, now, input.until);
    if (!end.ok) return { ok: false, code: end.code === 'too_long' ? 'too_long' : 'in_the_past' };
    const until = end.until;
    const m: Mute = {
      id: randomUUID(),
      channel: input.channel,
      detectionKey: input.detectionKey,
      detectionName: input.detectionName,
      by: actor,
      reason,
      createdAt: now,
      until,
      sourceAlertId: input.sourceAlertId,
      endedAt: null,
      endedBy: null,
      muted: 0,
      escalated: 0,
      ts: null,
    };
    const { endedAt: _e, endedBy: _b, muted: _m, escalated: _x, ts: _t, ...created } = m;
    const r = await deps.store.apply([{ mute: { op: 'create', m: created }, enqueue: [muteMessageItem(m, now)] }]);
    if (r.applied !== 1) {
      log.info({ channel: input.channel, detectionKey: input.detectionKey }, 'the detection is muted already');
      return { ok: false, code: 'already_muted', mute: await findHolding(input.channel, input.detectionKey) };
    }
    log.info(
      { muteId: m.id, channel: m.channel, detectionKey: m.detectionKey, until: new Date(m.until).toISOString() },
      'detection muted',
    );
    let commented = false;
    if (input.sourceAlertId) {
      const body = muteCommentBody(actor, { ...m, choice: input.choice });
      try {
        await deps.cotool.addComment(input.sourceAlertId, body);
        commented = true;
      } catch (err) {
        if (!isCotoolError(err)) throw err;
        // The mute holds and is announced in Slack; only Cotool's record of it is missing.
        log.warn(
          { ref: newRef(), muteId: m.id, alertId: input.sourceAlertId, err: err.toLog() },
          'the mute could not be recorded as a Cotool comment',
        );
      }
    }
    return { ok: true, mute: m, commented };
  }

  /** Ends a mute now (`by`: who unmuted it; null: it ran out): its counter redrawn, its end announced. */
  async function end(m: Mute, at: number, by: Actor | null): Promise<boolean> {
    const r = await deps.store.apply([
      { mute: { op: 'end', id: m.id, at, by }, enqueue: [muteUpdateItem(m, at), muteEndItem(m, at)] },
    ]);
    return r.applied === 1;
  }

  async function unmute(input: { muteId: string; userId: string }): Promise<UnmuteResult> {
    const decision = await deps.access.check(input.userId);
    if (!decision.ok) {
      log.info({ userId: input.userId, reason: decision.reason }, 'refused an unmute');
      return { ok: false, code: 'denied', reason: decision.reason };
    }
    const m = await deps.store.getMute(input.muteId);
    if (!m) return { ok: false, code: 'not_found' };
    if (m.endedAt !== null) return { ok: false, code: 'already_ended', mute: m };
    const actor: Actor = { id: input.userId, name: decision.user.name };
    const now = clock();
    // A mute that ran out but whose end was not announced yet ended at its time, not by this click.
    const ranOut = m.until <= now;
    if (!(await end(m, ranOut ? m.until : now, ranOut ? null : actor))) {
      return { ok: false, code: 'already_ended', mute: (await deps.store.getMute(m.id)) ?? m };
    }
    log.info({ muteId: m.id, userId: input.userId, ranOut }, ranOut ? 'mute ran out' : 'detection unmuted');
    const after = (await deps.store.getMute(m.id)) ?? { ...m, endedAt: now, endedBy: actor };
    return ranOut ? { ok: false, code: 'already_ended', mute: after } : { ok: true, mute: after };
  }

  /**
   * The leader, each poll cycle: mutes whose time ran out are ended and announced, once each (a
   * second replica's attempt conflicts). Returns how many this call ended.
   */
  async function endDueMutes(limit = 100): Promise<number> {
    const due = await deps.store.dueMuteEnds(limit);
    let ended = 0;
    for (const m of due) {
      if (await end(m, m.until, null)) {
        ended++;
        log.info({ muteId: m.id, channel: m.channel }, 'mute ran out; its end is announced');
      }
    }
    return ended;
  }

  /**
   * The detection of a storm's digest group: read from one of its alerts in Cotool (its key exactly
   * as the poller matches it), else from the group's key when Cotool does not answer.
   */
  async function groupTarget(stormId: string, groupKey: string): Promise<GroupTarget> {
    const storm = await deps.store.getStorm(stormId);
    if (!storm) return { ok: false, code: 'not_found' };
    const fromKey = detectionKeyOfGroup(groupKey);
    if (!fromKey) return { ok: false, code: 'no_detection' };
    const page = await deps.store.stormMemberPage(stormId, { groupKey }, { offset: 0, limit: 1 });
    const first = page.members[0];
    let detection: { key: string; name: string } | null = null;
    if (first) {
      try {
        detection = detectionOf(await deps.cotool.getAlert(first.alertId));
      } catch (err) {
        if (!isCotoolError(err)) throw err;
        log.warn(
          { stormId, alertId: first.alertId, err: err.toLog() },
          'could not read a digest group alert; muting by the group key',
        );
      }
    }
    return {
      ok: true,
      channel: storm.channel,
      detectionKey: detection?.key ?? fromKey,
      detectionName: detection?.name ?? page.groupName ?? fromKey.replace(/^(id|name):/, ''),
      sourceAlertId: first?.alertId ?? null,
    };
  }

  /** The mutes holding now (not ended, not run out), newest first. */
  async function list(): Promise<Mute[]> {
    const now = clock();
    return (await deps.store.activeMutes())
      .filter((m) => m.endedAt === null && now < m.until)
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  return { mute, unmute, endDueMutes, list, groupTarget };
}

export type MuteService = ReturnType<typeof createMuteService>;
