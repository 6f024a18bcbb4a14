/**
 * The fallbacks the sender posts when Slack refuses a message for good for its payload
 * (`invalid_blocks`, `msg_too_long` …): one short mrkdwn section, no buttons, nothing but what must
 * be seen — so an alert is always shown, however odd its content. Pure; untrusted text goes through
 * the one escaping function (`mrkdwn`).
 */
import type { KnownBlock } from '@slack/types';
import { mrkdwn, oneLine, safeUrl } from '../text.ts';
import { statusText } from './labels.ts';

type View = { text: string; blocks: KnownBlock[] };

const TITLE_MAX = 300;
const IDS_MAX = 2_500;

/** An alert in one line: `*COT-12* title — Open — <url|Open in Cotool>`. */
export function minimalCard(alert: { displayId: string; title: string; status: string }, url: string | null): View {
  const id = mrkdwn(oneLine(alert.displayId), 100);
  const title = mrkdwn(oneLine(alert.title), TITLE_MAX);
  const status = statusText(alert.status);
  const href = safeUrl(url);
  const link = href ? ` — <${href}|Open in Cotool>` : '';
  const line = `:rotating_light: *${id}* ${title} — ${status}${link}`;
  return {
    text: `${id} ${title} — ${status}`,
    blocks: [{ type: 'section', block_id: 'alert.minimal', text: { type: 'mrkdwn', text: line, verbatim: true } }],
  };
}

/** A storm in one section: how many alerts, and the ids that fit. */
export function minimalDigest(count: number, displayIds: readonly string[]): View {
  const ids: string[] = [];
  let used = 0;
  for (const d of displayIds) {
    const id = mrkdwn(oneLine(d), 100);
    if (used + id.length + 2 > IDS_MAX) break;
    ids.push(id);
    used += id.length + 2;
  }
  const more = displayIds.length - ids.length;
  const list = ids.length ? `: ${ids.join(', ')}${more > 0 ? ` and ${more} more` : ''}` : '';
  const head = `:cyclone: Alert storm — ${count} alert${count === 1 ? '' : 's'}`;
  return {
    text: `Alert storm — ${count} alert${count === 1 ? '' : 's'}`,
    blocks: [
      { type: 'section', block_id: 'digest.minimal', text: { type: 'mrkdwn', text: `${head}${list}`, verbatim: true } },
    ],
  };
}
