/**
 * The name of an alert's incident channel: `inc-cot-1042-impossible-travel`. Slack channel names
 * are lower case letters, digits, `-` and `_`, at most 80 characters; a taken name gets a suffix.
 */

export const CHANNEL_NAME_MAX = 80;

/** Lower case, accents dropped, anything else a single dash, no dash at either end. */
function slug(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * `attempt` 0 is the plain name; 1, 2 … (after `name_taken`) end in `-2`, `-3` …. The display id
 * always stays whole: only the title's part is cut, at a word boundary where there is one.
 */
export function warRoomName(displayId: string, title: string, attempt = 0): string {
  const head = `inc-${slug(displayId) || 'alert'}`;
  const suffix = attempt > 0 ? `-${attempt + 1}` : '';
  const room = CHANNEL_NAME_MAX - head.length - suffix.length - 1;
  let tail = slug(title);
  if (tail.length > room) {
    const cut = tail.slice(0, room);
    const dash = cut.lastIndexOf('-');
    tail = (dash >= Math.floor(room / 2) ? cut.slice(0, dash) : cut).replace(/-+$/, '');
  }
  return `${head}${tail ? `-${tail}` : ''}${suffix}`.slice(0, CHANNEL_NAME_MAX);
}
