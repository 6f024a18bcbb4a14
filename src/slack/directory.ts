/** The Slack directory lookups behind the access policy, over Bolt's WebClient. */
import type { WebClient } from '@slack/web-api';
import type { SlackDirectory } from '../service/access.ts';

export function createSlackDirectory(client: WebClient): SlackDirectory {
  return {
    async user(userId) {
      try {
        const res = await client.users.info({ user: userId });
        const u = res.user;
        if (!u?.id) return null;
        const name = u.profile?.display_name || u.profile?.real_name || u.real_name || u.name || u.id;
        return {
          id: u.id,
          name,
          isRestricted: u.is_restricted === true,
          isUltraRestricted: u.is_ultra_restricted === true,
          isBot: u.is_bot === true,
          deleted: u.deleted === true,
        };
      } catch (err) {
        if ((err as { data?: { error?: string } }).data?.error === 'user_not_found') return null;
        throw err;
      }
    },
    async usergroupMembers(groupId) {
      const res = await client.usergroups.users.list({ usergroup: groupId });
      return res.users ?? [];
    },
    async channelMembers(channelId) {
      const members: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 50; page++) {
        const res = await client.conversations.members({
          channel: channelId,
          limit: 1000,
          ...(cursor ? { cursor } : {}),
        });
        members.push(...(res.members ?? []));
        cursor = res.response_metadata?.next_cursor || undefined;
        if (!cursor) break;
      }
      return members;
    },
  };
}
