/**
 * Who may act on alerts and look them up. Alert data is sensitive, so the policy fails closed:
 * guests (restricted and ultra-restricted accounts) never; then SLACK_ALLOWED_USERS and members of
 * SLACK_ALLOWED_USERGROUPS when either is set; otherwise members of the alert channel. Slack
 * lookups are cached for a few minutes (at most 5,000 of them, least recently used dropped first);
 * a lookup that fails refuses, and says so.
 */
import { Lru } from '../core/lru.ts';
import type { Logger } from '../log.ts';
import type { SlackPerson } from '../ports.ts';

/** `name`: the name people see (display name, else real name, else handle). */
export type SlackUserInfo = SlackPerson;

/** The directory lookups the policy needs; the real one wraps Bolt's WebClient. */
export type SlackDirectory = {
  user(userId: string): Promise<SlackUserInfo | null>;
  usergroupMembers(groupId: string): Promise<string[]>;
  channelMembers(channelId: string): Promise<string[]>;
};

export type AccessRefusal = 'guest' | 'not_allowed' | 'not_channel_member' | 'unknown_user' | 'lookup_failed';
export type AccessDecision = { ok: true; user: SlackUserInfo } | { ok: false; reason: AccessRefusal };

export type AccessPolicyOptions = {
  directory: SlackDirectory;
  allowedUsers: readonly string[];
  allowedUsergroups: readonly string[];
  alertChannel: string;
  logger: Logger;
  cacheTtlMs?: number;
  /** Cached look-ups kept at most (users, groups, the channel's members): the least recently used go first. */
  cacheSize?: number;
  clock?: () => number;
};

export type AccessPolicy = {
  check(userId: string): Promise<AccessDecision>;
  /** The user as Slack knows them (cached), for naming them in a reason; null when unknown. */
  user(userId: string): Promise<SlackUserInfo | null>;
  /** One sentence describing who may act, for refusals and the help text. */
  describe(): string;
};

type Cached<T> = { value: T; until: number };

export function createAccessPolicy(o: AccessPolicyOptions): AccessPolicy {
  const ttl = o.cacheTtlMs ?? 5 * 60_000;
  const clock = o.clock ?? Date.now;
  const log = o.logger.child({ module: 'access' });
  const cache = new Lru<string, Cached<unknown>>(o.cacheSize ?? 5_000);
  const inFlight = new Map<string, Promise<unknown>>();

  async function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = cache.get(key);
    if (hit && hit.until > clock()) return hit.value as T;
    if (hit) cache.delete(key);
    const pending = inFlight.get(key);
    if (pending) return pending as Promise<T>;
    const p = load()
      .then((value) => {
        cache.set(key, { value, until: clock() + ttl });
        return value;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, p);
    return p;
  }

  const explicit = o.allowedUsers.length > 0 || o.allowedUsergroups.length > 0;

  return {
    user: (userId) => cached(`user:${userId}`, () => o.directory.user(userId)).catch(() => null),
    async check(userId) {
      try {
        const user = await cached(`user:${userId}`, () => o.directory.user(userId));
        if (!user || user.deleted) return refuse(userId, 'unknown_user');
        if (user.isRestricted || user.isUltraRestricted) return refuse(userId, 'guest');
        if (explicit) {
          if (o.allowedUsers.includes(userId)) return { ok: true, user };
          for (const group of o.allowedUsergroups) {
            const members = await cached(`group:${group}`, () => o.directory.usergroupMembers(group));
            if (members.includes(userId)) return { ok: true, user };
          }
          return refuse(userId, 'not_allowed');
        }
        const members = await cached(`channel:${o.alertChannel}`, () => o.directory.channelMembers(o.alertChannel));
        return members.includes(userId) ? { ok: true, user } : refuse(userId, 'not_channel_member');
      } catch (err) {
        log.warn({ userId, err }, 'could not check access: Slack lookup failed');
        return { ok: false, reason: 'lookup_failed' };
      }
    },
    describe() {
      if (!explicit) return `members of <#${o.alertChannel}> (guests excluded)`;
      const parts = [
        ...o.allowedUsers.map((u) => `<@${u}>`),
        ...o.allowedUsergroups.map((g) => `members of <!subteam^${g}>`),
      ];
      return `${parts.join(', ')} (guests excluded)`;
    },
  };

  function refuse(userId: string, reason: AccessRefusal): AccessDecision {
    log.info({ userId, reason }, 'refused a Slack user');
    return { ok: false, reason };
  }
}
