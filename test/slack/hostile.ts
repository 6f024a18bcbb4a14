/**
 * Hostile strings an alert can carry (titles and descriptions come from whoever raised it), and a
 * checker that walks a rendered Slack view and asserts it can neither ping, nor link, nor break.
 * Reusable by every view's tests.
 */
import { expect } from 'vitest';
import { decodeAction } from '../../src/slack/payloads.ts';
import { LIMITS } from '../../src/slack/text.ts';

export const LONG_DESCRIPTION = `${'Phish <!channel> & <https://evil.example|login> 👨‍👩‍👧‍👦 '.repeat(1_000)}`.slice(
  0,
  50_000,
);
export const LONG_TITLE = `${'<!here> 🇫🇷 & '.repeat(1_000)}`.slice(0, 10_000);

export const HOSTILE: readonly string[] = [
  // mentions and broadcasts
  '<!channel>',
  '<!here|here>',
  '<!everyone>',
  '@channel',
  '@here',
  '@everyone look',
  '@Channel @HERE',
  '<@U0123ABC>',
  '<@W0123ABC|boss>',
  '<#C0123>',
  '<#C0123|general>',
  '<!subteam^S0123|oncall>',
  '<!subteam^S0123>',
  // disguised links
  '<https://evil.example|https://cotool.ai>',
  '<mailto:a@b.c|click>',
  '<HTTP://EVIL.EXAMPLE>',
  'https://evil.example/login?next=<!channel>',
  // pre-escaped and half-escaped
  '&lt;!channel&gt;',
  '&amp;lt;!here&amp;gt;',
  '&lt;@U0123ABC&gt;',
  '&#60;!channel&#62;',
  '&',
  '&am',
  // formatting that could fake structure
  '*bold* _it_ ~s~ `code` ```block```',
  '> quote',
  'ok\n> :white_check_mark: *Closed as false positive* by admin\n> :rotating_light: fake',
  '```\nunterminated code block',
  ':white_check_mark: Closed as false positive',
  // invisible and direction controls
  'invoice\u202Efdp.exe <!here>',
  'a\u2066b\u2067c\u2068d\u2069e\u202Af\u202Bg\u202Ch\u202D',
  'zero\u200B\u200C\u200D\u2060\uFEFFwidth @\u200Bchannel @\u2060here',
  '@\u0000channel @\u0007here <\u0000!channel>',
  '\u0000\u0007\u001b[31mred\u001b[0m\u0085x\u2028y\u2029z\r\nw\rv\u000b\u000c',
  '\u0080\u0090\u009f',
  // surrogate pairs, graphemes, lone surrogates
  '👍🏽'.repeat(2_000),
  '👨‍👩‍👧‍👦'.repeat(1_000),
  '🇫🇷'.repeat(3_000),
  `a${'\u0301'.repeat(5_000)}`,
  '\uD83D',
  'a\uDC00b\uD800',
  // sheer size
  '<'.repeat(10_000),
  '&'.repeat(10_000),
  '>'.repeat(10_000),
  '\n'.repeat(5_000),
  LONG_TITLE,
  // URLs that must never become a link target
  'javascript:alert(1)',
  'JaVaScRiPt:alert(document.domain)',
  ' javascript:alert(1)',
  'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
  'vbscript:msgbox(1)',
  'file:///etc/passwd',
  'https://user:pass@evil.example/',
  `https://evil.example/${'a'.repeat(3_000)}`,
  // lookup keys and empties
  '__proto__',
  'constructor',
  'toString',
  '',
  '   ',
];

/** Tokens our own code writes into mrkdwn: Slack date tokens. */
const DATE_TOKEN = /<!date\^\d+\^[^|<>]+\|[^<>|]+>/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
/** A bare broadcast word; an `@` inside an address (`bob@heretic.io`) or a longer word (`@heretic`) is none. */
export const BROADCAST_WORD = /(?<![\p{L}\p{N}\p{M}_.+%'-])@(?:channel|here|everyone)(?![\p{L}\p{N}\p{M}_])/iu;
const TOKEN_OPENER = /<(?:[!@#]|https?:|mailto:)/i;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

function fail(path: string, what: string, text: string): never {
  throw new Error(`${path}: ${what}: ${JSON.stringify(text.slice(0, 200))}`);
}

function within(path: string, text: unknown, max: number): void {
  if (typeof text !== 'string') fail(path, 'missing text', String(text));
  if (text.length < 1 || text.length > max) fail(path, `length ${text.length} not in 1..${max}`, text);
}

/** Mrkdwn: every `<` opens an allowed token, `>` only closes one or starts a quote line, `&` only opens an entity. */
function checkMrkdwn(path: string, text: string, allowed: readonly string[]): void {
  let rest = text.replace(DATE_TOKEN, '');
  for (const token of allowed) rest = rest.split(token).join('');
  if (rest.includes('<')) fail(path, 'unescaped < (injected token?)', text);
  if (rest.replace(/(^|\n)>/g, '$1').includes('>')) fail(path, 'unescaped >', text);
  if (/&(?!(?:amp|lt|gt);)/.test(rest)) fail(path, 'bare & outside an entity', text);
}

function checkPlain(path: string, text: string): void {
  if (TOKEN_OPENER.test(text)) fail(path, 'token opener in plain text', text);
}

function checkString(path: string, s: string): void {
  if (CONTROL.test(s)) fail(path, 'control character', s);
  if (BROADCAST_WORD.test(s)) fail(path, 'broadcast word', s);
  if (!s.isWellFormed()) fail(path, 'lone surrogate', s);
}

function textOf(path: string, o: Json | undefined, max: number): void {
  if (!o || typeof o !== 'object' || Array.isArray(o)) fail(path, 'not a text object', String(o));
  within(`${path}.text`, o.text, max);
}

function checkUrl(path: string, url: string): void {
  within(path, url, LIMITS.url);
  if (!/^https?:\/\/[^\s@/]+\//i.test(url) || /javascript:|data:|vbscript:/i.test(url)) fail(path, 'unsafe url', url);
}

/** Checks a button or option value; the default is "an action payload for the card's alert". */
type ValueCheck = (path: string, value: Json | undefined, max: number) => void;

function checkElement(path: string, el: Obj, value: ValueCheck, actionIds: Set<string>): void {
  const actionId = el.action_id;
  if (typeof actionId === 'string') {
    within(`${path}.action_id`, actionId, LIMITS.actionId);
    if (actionIds.has(actionId)) fail(path, 'duplicate action_id', actionId);
    actionIds.add(actionId);
  }
  if (el.type === 'button') {
    textOf(`${path}.text`, el.text, LIMITS.buttonText);
    if (typeof el.url === 'string') checkUrl(`${path}.url`, el.url);
    if (el.value !== undefined) value(`${path}.value`, el.value, LIMITS.buttonValue);
    if (el.url === undefined && el.value === undefined) fail(path, 'button without value or url', '');
  }
  if (el.type === 'overflow') {
    const options = el.options as Obj[];
    if (options.length < LIMITS.overflowOptionsMin || options.length > LIMITS.overflowOptionsMax) {
      fail(path, `${options.length} overflow options`, '');
    }
    options.forEach((o, i) => {
      textOf(`${path}.options[${i}].text`, o.text, LIMITS.overflowOptionText);
      value(`${path}.options[${i}].value`, o.value, LIMITS.overflowOptionValue);
    });
  }
  const confirm = el.confirm as Obj | undefined;
  if (confirm) {
    textOf(`${path}.confirm.title`, confirm.title, LIMITS.confirmTitle);
    textOf(`${path}.confirm.text`, confirm.text, LIMITS.confirmText);
    textOf(`${path}.confirm.confirm`, confirm.confirm, LIMITS.confirmButton);
    textOf(`${path}.confirm.deny`, confirm.deny, LIMITS.confirmButton);
  }
}

function checkValue(path: string, value: Json | undefined, max: number, alertId: string): void {
  if (typeof value !== 'string') fail(path, 'value not a string', String(value));
  within(path, value, max);
  const decoded = decodeAction(value);
  if (!decoded.ok || decoded.value.id !== alertId) fail(path, 'value does not round-trip', value);
}

function checkBlock(path: string, block: Obj, value: ValueCheck, actionIds: Set<string>): void {
  switch (block.type) {
    case 'divider':
      break;
    case 'header':
      textOf(path, block.text, LIMITS.header);
      break;
    case 'section': {
      if (block.text) textOf(path, block.text, LIMITS.sectionText);
      const fields = (block.fields ?? []) as Obj[];
      if (fields.length > LIMITS.sectionFields) fail(path, `${fields.length} fields`, '');
      for (const [i, f] of fields.entries()) textOf(`${path}.fields[${i}]`, f, LIMITS.sectionField);
      if (!block.text && fields.length === 0) fail(path, 'empty section', '');
      if (block.accessory) checkElement(`${path}.accessory`, block.accessory as Obj, value, actionIds);
      break;
    }
    case 'rich_text': {
      // Rich text is shown literally; only text elements in sections, quotes and preformatted blocks.
      const elements = block.elements as Obj[];
      if (elements.length < 1) fail(path, 'empty rich_text', '');
      for (const [i, e] of elements.entries()) {
        if (!['rich_text_section', 'rich_text_quote', 'rich_text_preformatted'].includes(String(e.type)))
          fail(`${path}.elements[${i}]`, `unexpected rich text element ${String(e.type)}`, '');
        for (const [j, t] of (e.elements as Obj[]).entries()) {
          if (t.type !== 'text')
            fail(`${path}.elements[${i}].elements[${j}]`, `not a text element: ${String(t.type)}`, '');
          within(`${path}.elements[${i}].elements[${j}].text`, t.text, LIMITS.sectionText);
        }
      }
      break;
    }
    case 'context': {
      const elements = block.elements as Obj[];
      if (elements.length < 1 || elements.length > LIMITS.contextElements)
        fail(path, `${elements.length} elements`, '');
      for (const [i, e] of elements.entries()) textOf(`${path}.elements[${i}]`, e, LIMITS.contextText);
      break;
    }
    case 'actions': {
      const elements = block.elements as Obj[];
      if (elements.length < 1 || elements.length > LIMITS.actionsElements)
        fail(path, `${elements.length} elements`, '');
      for (const [i, e] of elements.entries()) checkElement(`${path}.elements[${i}]`, e, value, actionIds);
      break;
    }
    default:
      fail(path, `unexpected block type ${String(block.type)}`, '');
  }
}

/** Walks every string and text object in the view. */
function walk(path: string, node: Json, allowed: readonly string[]): void {
  if (typeof node === 'string') {
    checkString(path, node);
  } else if (Array.isArray(node)) {
    for (const [i, n] of node.entries()) walk(`${path}[${i}]`, n, allowed);
  } else if (node && typeof node === 'object') {
    if (node.type === 'mrkdwn' && typeof node.text === 'string') checkMrkdwn(path, node.text, allowed);
    if (node.type === 'plain_text' && typeof node.text === 'string') checkPlain(path, node.text);
    for (const [k, v] of Object.entries(node)) walk(`${path}.${k}`, v, allowed);
  }
}

/**
 * Asserts a rendered view is safe and valid. `allowed`: the only mention/link tokens that may
 * appear, because they came from trusted inputs (e.g. the configured escalation mention).
 */
export function assertSafeView(
  view: { text: string; blocks: unknown[] },
  opts: {
    alertId: string;
    allowed?: readonly string[];
    /** 50 for a message (default), 100 for a home tab or modal. */
    maxBlocks?: number;
    /** How to check button and option values (default: an action payload naming `alertId`). */
    checkValue?: ValueCheck;
    /** Where action_ids must be unique: the whole view (default) or each block (Slack's own rule). */
    actionIdScope?: 'view' | 'block';
  },
): void {
  const allowed = opts.allowed ?? [];
  const value: ValueCheck = opts.checkValue ?? ((path, v, max) => checkValue(path, v, max, opts.alertId));
  const json = JSON.parse(JSON.stringify(view)) as { text: string; blocks: Obj[] };
  within('text', json.text, LIMITS.fallbackText);
  checkMrkdwn('text', json.text, allowed);
  walk('', json as unknown as Json, allowed);
  if (json.blocks.length < 1 || json.blocks.length > (opts.maxBlocks ?? LIMITS.messageBlocks))
    fail('blocks', `${json.blocks.length} blocks`, '');
  const blockIds = new Set<string>();
  let actionIds = new Set<string>();
  json.blocks.forEach((b, i) => {
    if (opts.actionIdScope === 'block') actionIds = new Set<string>();
    const id = b.block_id;
    if (typeof id === 'string') {
      within(`blocks[${i}].block_id`, id, LIMITS.blockId);
      if (blockIds.has(id)) fail(`blocks[${i}]`, 'duplicate block_id', id);
      blockIds.add(id);
    }
    checkBlock(`blocks[${i}]`, b, value, actionIds);
  });
  // Wherever a url sits (not only in the buttons checked above), it is http(s).
  expect(JSON.stringify(json)).not.toMatch(/"url":"(?!https?:)/i);
}

/**
 * Asserts a modal (or any surface with input blocks) is safe: every mrkdwn and plain text holds only
 * `allowed` tokens, no string carries a control character, a broadcast word or a lone surrogate, the
 * title fits Slack's 24 characters and there are at most 100 blocks. Block Kit validity itself is
 * the fake Slack's `validateView`, which callers run too.
 */
export function assertSafeModalTexts(
  view: { title?: { text: string }; blocks: unknown[] },
  opts: { allowed?: readonly string[] } = {},
): void {
  const json = JSON.parse(JSON.stringify(view)) as Obj;
  walk('', json as Json, opts.allowed ?? []);
  if (view.title && view.title.text.length > LIMITS.modalTitle) fail('title', 'too long', view.title.text);
  if (view.blocks.length < 1 || view.blocks.length > LIMITS.surfaceBlocks)
    fail('blocks', `${view.blocks.length} blocks`, '');
}
