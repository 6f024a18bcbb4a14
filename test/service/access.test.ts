import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { createAccessPolicy, type SlackDirectory, type SlackUserInfo } from '../../src/service/access.ts';

const person = (id: string): SlackUserInfo => ({
  id,
  name: id,
  isRestricted: false,
  isUltraRestricted: false,
  isBot: false,
  deleted: false,
});

function directory() {
  const calls: string[] = [];
  const dir: SlackDirectory = {
    async user(id) {
      calls.push(id);
      return person(id);
    },
    async usergroupMembers() {
      return [];
    },
    async channelMembers() {
      return [];
    },
  };
  return { dir, calls };
}

describe('access policy cache', () => {
  const logger = createLogger('silent');

  it('keeps at most cacheSize look-ups: the least recently used is asked again', async () => {
    const { dir, calls } = directory();
    const policy = createAccessPolicy({
      directory: dir,
      allowedUsers: ['U1', 'U2', 'U3'],
      allowedUsergroups: [],
      alertChannel: 'C1',
      logger,
      cacheSize: 2,
      clock: () => 0,
    });
    await policy.check('U1');
    await policy.check('U2');
    await policy.check('U1'); // cached, and now the most recent
    await policy.check('U3'); // evicts U2
    await policy.check('U1'); // still cached
    await policy.check('U2'); // asked again
    expect(calls).toEqual(['U1', 'U2', 'U3', 'U2']);
  });

  it('asks again once an entry is older than the ttl', async () => {
    const { dir, calls } = directory();
    let now = 0;
    const policy = createAccessPolicy({
      directory: dir,
      allowedUsers: ['U1'],
      allowedUsergroups: [],
      alertChannel: 'C1',
      logger,
      cacheTtlMs: 1_000,
      clock: () => now,
    });
    await policy.check('U1');
    now = 999;
    await policy.check('U1');
    now = 1_000;
    await policy.check('U1');
    expect(calls).toEqual(['U1', 'U1']);
  });
});
