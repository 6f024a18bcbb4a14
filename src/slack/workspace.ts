/** The SlackWorkspace port over Bolt's WebClient: people, direct messages, channels. */
import type { WebClient } from '@slack/web-api';
import type { SlackPerson, SlackWorkspace } from '../ports.ts';

/** Slack's error code of a failed Web API call, or null when it is not one (network, 5xx …). */
function codeOf(err: unknown): string | null {
  const code = (err as { code?: unknown; data?: { error?: unknown } }).data?.error;
  return (err as { code?: unknown }).code === 'slack_webapi_platform_error' && typeof code === 'string' ? code : null;
}

type User = {
  id?: string;
  name?: string;
  real_name?: string;
  deleted?: boolean;
  is_bot?: boolean;
  is_restricted?: boolean;
  is_ultra_restricted?: boolean;
  profile?: { display_name?: string; real_name?: string };
};

function person(u: User | undefined): SlackPerson | null {
  if (!u?.id) return null;
  return {
    id: u.id,
    name: u.profile?.display_name || u.profile?.real_name || u.real_name || u.name || u.id,
    deleted: u.deleted === true,
    isBot: u.is_bot === true,
    isRestricted: u.is_restricted === true,
    isUltraRestricted: u.is_ultra_restricted === true,
  };
}

/** Refusals that mean "this person cannot be reached or invited", not a failure of ours. */
const NOT_FOUND = new Set(['users_not_found', 'user_not_found']);

export function createSlackWorkspace(client: WebClient): SlackWorkspace {
  return {
    async userByEmail(email) {
      try {
        return person((await client.users.lookupByEmail({ email })).user as User | undefined);
      } catch (err) {
        if (NOT_FOUND.has(codeOf(err) ?? '')) return null;
        throw err;
      }
    },
    async user(userId) {
      try {
        return person((await client.users.info({ user: userId })).user as User | undefined);
      } catch (err) {
        if (NOT_FOUND.has(codeOf(err) ?? '')) return null;
        throw err;
      }
    },
    async openDm(userId) {
      try {
        const res = await client.conversations.open({ users: userId });
        const id = res.channel?.id;
        return id ? { ok: true, channel: id } : { ok: false, code: 'channel_not_found' };
      } catch (err) {
        const code = codeOf(err);
        if (code) return { ok: false, code };
        throw err;
      }
    },
    async createChannel(name) {
      try {
        const res = await client.conversations.create({ name, is_private: false });
        const id = res.channel?.id;
        if (!id) throw new Error('conversations.create answered without a channel');
        return { ok: true, channel: id, name: res.channel?.name ?? name };
      } catch (err) {
        const code = codeOf(err);
        if (code) return { ok: false, code };
        throw err;
      }
    },
    async invite(channel, userIds) {
      const refused: { id: string; code: string }[] = [];
      for (const id of new Set(userIds)) {
        try {
          await client.conversations.invite({ channel, users: id });
        } catch (err) {
          const code = codeOf(err);
          if (code === 'already_in_channel') continue;
          if (!code) throw err;
          refused.push({ id, code });
        }
      }
      return { refused };
    },
    async bookmark(channel, title, link) {
      await client.bookmarks.add({ channel_id: channel, title, type: 'link', link });
    },
    async groupMembers(groupId) {
      return (await client.usergroups.users.list({ usergroup: groupId })).users ?? [];
    },
  };
}
