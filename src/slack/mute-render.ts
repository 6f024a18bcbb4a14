/**
 * The mute messages as the sender draws them (src/notify/sender/mute.ts), from the mute as the store
 * has it: its one message (the announcement, and under it the quiet counter of the alerts held
 * back), the id lists in its thread, and the announcement that it ended with its tally. What
 * escalated and critical alerts do under a mute is the routes' say, per channel.
 */
import type { Config } from '../config.ts';
import { type BreakThrough, DEFAULT_BREAK_THROUGH } from '../core/mutes.ts';
import type { MuteRenderer } from '../ports.ts';
import { muteAnnouncement, mutedMessage, muteEnded, muteIdList } from './views/mute.ts';

/** What escalated and critical alerts do under a mute in `channel`: the first route sending there says. */
export function breakThroughIn(config: Pick<Config, 'routes'>, channel: string): BreakThrough {
  return config.routes.find((r) => r.channels.includes(channel))?.breakThrough ?? DEFAULT_BREAK_THROUGH;
}

export function createMuteRenderer(config: Pick<Config, 'routes'>): MuteRenderer {
  return {
    message(m) {
      const head = muteAnnouncement(m, { breakThrough: breakThroughIn(config, m.channel) });
      const counter = mutedMessage(m, { muted: m.muted, escalated: m.escalated });
      return { text: head.text, blocks: [...head.blocks, ...counter.blocks] };
    },
    ids: (m, ids, from) => muteIdList(m, ids, from),
    ended: (m) => muteEnded(m, { muted: m.muted, escalated: m.escalated }),
  };
}
