import type { KnownBlock } from '@slack/types';
import { mrkdwn, oneLine } from '../text.ts';

/** The card of an alert that no longer exists in Cotool (deleted, or the key lost access). */
export function renderGoneCard(displayId: string): { text: string; blocks: KnownBlock[] } {
  const id = mrkdwn(oneLine(displayId), 100);
  return {
    text: `${id}: this alert no longer exists in Cotool`,
    blocks: [
      {
        type: 'section',
        block_id: 'alert.gone',
        text: {
          type: 'mrkdwn',
          text: `:wastebasket: *${id}* no longer exists in Cotool. This card is no longer updated.`,
        },
      },
    ],
  };
}
