/**
 * "Open incident channel", the use-case: a real store (SQLite in memory), a fake workspace that
 * answers like Slack (name_taken, restricted_action, refused invites), a fake Cotool.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { alertUrl } from '../../src/config.ts';
import { CotoolError } from '../../src/cotool/errors.ts';
import type { Alert, TimelineEntry } from '../../src/cotool/schemas.ts';
import { createLogger } from '../../src/log.ts';
import type { SlackPerson, SlackWorkspace } from '../../src/notify/ports.ts';
import { cardKey, parseRoutes } from '../../src/notify/routes.ts';
import { createOpenWarRoom, inviteesOf, type WarRoomDeps, warRoomComment } from '../../src/service/war-room.ts';
import { classifySlackError } from '../../src/slack/errors.ts';
import { warRoomText } from '../../src/slack/listeners/actions/war-room.ts';
import { warRoomOpenedNote } from '../../src/slack/views/next-move-notes.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/store.ts';
import { seedPostedCard } from '../store/seed.ts';
import { alert as makeAlert } from '../support/alerts.ts';
import { CARD_TS, CHANNEL, config, JANE } from './fakes.ts';

const BOB = { id: 'U0BOB', name: 'Bob' };
const logger = createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }));

/** Slack's workspace as far as war rooms go: channels by name, invites one by one, bookmarks. */
function fakeWorkspace() {
  const channels = new Map<string, string>();
  const state = {
    restricted: false,
    /** Names someone else has already. */
    taken: new Set<string>(),
    /** Users Slack refuses to invite, with the code. */
    refuse: new Map<string, string>([['U0GONE', 'user_is_deactivated']]),
    groups: new Map<string, string[]>([['S0ONCALL', ['U0ON1', 'U0ON2', 'U0JANE']]]),
    /** A thrown failure for the next createChannel (a 5xx). */
    createThrows: null as Error | null,
  };
  const created: string[] = [];
  const tried: string[] = [];
  const invites: { channel: string; ids: string[] }[] = [];
  const bookmarks: { channel: string; title: string; link: string }[] = [];
  const unused = async (): Promise<never> => {
    throw new Error('not used by war rooms');
  };
  const ws: SlackWorkspace = {
    userByEmail: unused as (email: string) => Promise<SlackPerson | null>,
    user: unused as (id: string) => Promise<SlackPerson | null>,
    openDm: unused,
    async createChannel(name) {
      tried.push(name);
      if (state.createThrows) {
        const e = state.createThrows;
        state.createThrows = null;
        throw e;
      }
      if (state.restricted) return { ok: false, code: 'restricted_action' };
      if (state.taken.has(name) || channels.has(name)) return { ok: false, code: 'name_taken' };
      const id = `C0WAR${channels.size + 1}`;
      channels.set(name, id);
      created.push(name);
      // The bot's clicks are slow enough for a second click to overlap them.
      await new Promise((r) => setTimeout(r, 5));
      return { ok: true, channel: id, name };
    },
    async invite(channel, ids) {
      invites.push({ channel, ids: [...ids] });
      return {
        refused: ids.filter((id) => state.refuse.has(id)).map((id) => ({ id, code: state.refuse.get(id) as string })),
      };
    },
    async bookmark(channel, title, link) {
      bookmarks.push({ channel, title, link });
    },
    async groupMembers(id) {
      const g = state.groups.get(id);
      if (!g)
        throw Object.assign(new Error('no_such_subteam'), {
          code: 'slack_webapi_platform_error',
          data: { ok: false, error: 'no_such_subteam' },
        });
      return g;
    },
  };
  return { ws, state, created, tried, invites, bookmarks };
}

async function setup(
  opts: {
    alert?: Partial<Alert>;
    denied?: string[];
    routes?: unknown;
    oncall?: string[];
    card?: boolean;
    cotoolGet?: Error | null;
    commentFails?: boolean;
  } = {},
) {
  const store: Store = openSqliteStore(':memory:');
  const a = makeAlert({ displayId: 'COT-1042', title: 'Impossible travel: jane@acme.io', ...opts.alert });
  if (opts.card !== false) {
    await seedPostedCard(store, {
      alertId: a.id,
      displayId: a.displayId,
      channel: CHANNEL,
      ts: CARD_TS,
      status: a.status,
      updatedAt: a.updatedAt,
      fingerprint: 'fp',
    });
  }
  const comments: { alertId: string; body: string }[] = [];
  const gets: string[] = [];
  const workspace = fakeWorkspace();
  const routes = opts.routes
    ? parseRoutes(JSON.stringify(opts.routes), 'routes.json')
    : { ok: true as const, routes: [] };
  if (!routes.ok) throw new Error(routes.problem);
  let opened = 0;
  const deps: WarRoomDeps = {
    cotool: {
      async getAlert(id) {
        gets.push(id);
        if (opts.cotoolGet) throw opts.cotoolGet;
        return { ...a, timeline: [] };
      },
      async addComment(alertId, body) {
        if (opts.commentFails) throw new CotoolError({ kind: 'timeout', method: 'POST', path: '/x', detail: 'slow' });
        comments.push({ alertId, body });
        return { id: `e${comments.length}`, kind: 'comment', bodyMarkdown: body } as TimelineEntry;
      },
    },
    store,
    workspace: workspace.ws,
    slack: {
      classify(err, channel) {
        const f = classifySlackError(err, channel);
        return { ...f, outcomeUnknown: f.meaning === 'maybe', retryAfterSec: null };
      },
    },
    access: {
      async check(userId) {
        if (opts.denied?.includes(userId)) return { ok: false, reason: 'not_channel_member' };
        const name = userId === JANE.id ? JANE.name : userId === BOB.id ? BOB.name : userId;
        return {
          ok: true,
          user: { id: userId, name, isRestricted: false, isUltraRestricted: false, isBot: false, deleted: false },
        };
      },
    },
    render: { fingerprint: (x) => `fp:${x.updatedAt}` },
    routes: routes.routes,
    defaultChannel: CHANNEL,
    oncall: opts.oncall ?? [],
    alertUrl: (x) => alertUrl(config.cotool, x),
    renderOpenedNote: warRoomOpenedNote,
    logger,
    clock: () => Date.parse('2026-11-23T12:00:00.000Z'),
    onOpened: () => opened++,
  };
  const open = createOpenWarRoom(deps);
  const click = (userId = JANE.id) =>
    open({
      alertId: a.id,
      userId,
      place: { channel: CHANNEL, ts: CARD_TS },
      workspaceUrl: 'https://acme.slack.com/',
    });
  return { a, store, open, click, workspace, comments, gets, counts: () => ({ opened }) };
}

describe('open a war room', () => {
  it('creates inc-cot-…, records it with the card and the thread note, invites clicker and on-call, bookmarks, comments', async () => {
    const t = await setup({
      routes: [{ match: {}, channels: [CHANNEL], oncall: ['S0ONCALL', 'U0LEAD', 'here'] }],
    });
    const r = await t.click();
    expect(r).toMatchObject({
      ok: true,
      created: true,
      channel: 'C0WAR1',
      name: 'inc-cot-1042-impossible-travel-jane-acme-io',
      displayId: 'COT-1042',
      refused: [],
      commented: true,
    });
    expect(t.workspace.created).toEqual(['inc-cot-1042-impossible-travel-jane-acme-io']);
    // Recorded: the war room, and the card's copy in it (queued: the sender posts it).
    expect(await t.store.getWarRoom(t.a.id)).toMatchObject({ channel: 'C0WAR1', by: JANE });
    const copy = await t.store.get(cardKey(t.a.id, 'C0WAR1', false));
    expect(copy).toMatchObject({ state: 'queued', channel: 'C0WAR1', status: 'open', displayId: 'COT-1042' });
    const items = await t.store.listOutbox();
    expect(items.map((i) => [i.kind, i.channel])).toEqual(
      expect.arrayContaining([
        ['card', 'C0WAR1'],
        ['reply', CHANNEL],
      ]),
    );
    expect(items).toHaveLength(2);
    const reply = JSON.parse(items.find((i) => i.kind === 'reply')?.payload ?? '{}');
    expect(reply.threadTs).toBe(CARD_TS);
    expect(JSON.stringify(reply.view)).toContain('<#C0WAR1>');
    expect(JSON.stringify(reply.view)).toContain('<@U0JANE>');
    // The clicker, the route's on-call users and its group's members; `here` is nobody.
    expect(t.workspace.invites).toEqual([{ channel: 'C0WAR1', ids: ['U0JANE', 'U0LEAD', 'U0ON1', 'U0ON2'] }]);
    expect(t.workspace.bookmarks).toEqual([
      { channel: 'C0WAR1', title: 'COT-1042 in Cotool', link: expect.stringContaining('/alerts/COT-1042') },
    ]);
    expect(t.comments).toEqual([
      {
        alertId: t.a.id,
        body: 'Note from Slack by Jane Doe (<@U0JANE>): Opened the incident channel #inc-cot-1042-impossible-travel-jane-acme-io (https://acme.slack.com/archives/C0WAR1) for this alert.',
      },
    ]);
    expect(t.counts()).toEqual({ opened: 1 });
  });

  it('on-call defaults to ESCALATION_MENTION when the route names none', async () => {
    const t = await setup({ oncall: ['U0DEFAULT'] });
    await t.click();
    expect(t.workspace.invites[0]?.ids).toEqual(['U0JANE', 'U0DEFAULT']);
  });

  it('a taken name gets a suffix', async () => {
    const t = await setup();
    t.workspace.state.taken.add('inc-cot-1042-impossible-travel-jane-acme-io');
    t.workspace.state.taken.add('inc-cot-1042-impossible-travel-jane-acme-io-2');
    const r = await t.click();
    expect(r).toMatchObject({ ok: true, name: 'inc-cot-1042-impossible-travel-jane-acme-io-3' });
    expect(t.workspace.tried).toHaveLength(3);
  });

  it('every name taken: nothing created, nothing recorded, the claim released', async () => {
    const t = await setup();
    for (let i = 0; i < 5; i++) {
      t.workspace.state.taken.add(`inc-cot-1042-impossible-travel-jane-acme-io${i ? `-${i + 1}` : ''}`);
    }
    expect(await t.click()).toEqual({ ok: false, code: 'name_taken', displayId: 'COT-1042', tries: 5 });
    expect(await t.store.getWarRoom(t.a.id)).toBeNull();
    expect(await t.store.listOutbox()).toEqual([]);
    // Once a name frees up, the next click opens it.
    t.workspace.state.taken.clear();
    expect(await t.click()).toMatchObject({ ok: true, created: true });
  });

  it('a workspace that forbids channel creation: restricted, and nothing else asked of Slack', async () => {
    const t = await setup();
    t.workspace.state.restricted = true;
    expect(await t.click()).toEqual({ ok: false, code: 'restricted', displayId: 'COT-1042' });
    expect(t.workspace.tried).toHaveLength(1);
    expect(t.workspace.invites).toEqual([]);
    expect(t.comments).toEqual([]);
    expect(await t.store.getWarRoom(t.a.id)).toBeNull();
    expect(t.counts().opened).toBe(0);
  });

  it('Slack failing otherwise: a slack result with a reference, nothing recorded', async () => {
    const t = await setup();
    t.workspace.state.createThrows = Object.assign(new Error('An HTTP protocol error occurred: statusCode = 503'), {
      code: 'slack_webapi_http_error',
      statusCode: 503,
    });
    const r = await t.click();
    expect(r).toMatchObject({ ok: false, code: 'slack', slackCode: 'http_503' });
    expect(await t.store.getWarRoom(t.a.id)).toBeNull();
  });

  it('a second click → the same channel, the clicker invited into it, nothing created or queued', async () => {
    const t = await setup();
    const first = await t.click(JANE.id);
    const queued = (await t.store.listOutbox()).length;
    const second = await t.click(BOB.id);
    expect(second).toEqual({
      ok: true,
      created: false,
      channel: first.ok ? first.channel : '',
      name: first.ok ? first.name : '',
      displayId: 'COT-1042',
      refused: [],
      commented: null,
    });
    expect(t.workspace.created).toHaveLength(1);
    expect(t.workspace.invites.at(-1)).toEqual({ channel: 'C0WAR1', ids: ['U0BOB'] });
    expect(await t.store.listOutbox()).toHaveLength(queued);
    expect(t.comments).toHaveLength(1);
    expect(t.counts().opened).toBe(1);
  });

  it('two clicks at once → one channel; the other is told it is being opened or pointed to it', async () => {
    const t = await setup();
    const results = await Promise.all([t.click(JANE.id), t.click(BOB.id), t.click(JANE.id)]);
    expect(t.workspace.created).toHaveLength(1);
    expect(results.filter((r) => r.ok && r.created)).toHaveLength(1);
    for (const r of results.filter((x) => !(x.ok && x.created))) {
      expect(r.ok ? 'exists' : r.code).toMatch(/^(busy|exists)$/);
    }
  });

  it('a claim held elsewhere (another replica opening it) → busy, nothing asked of Cotool or Slack', async () => {
    const t = await setup();
    expect(await t.store.claimAction(`war_room:${t.a.id}`, 'other-replica', 60_000)).toBe(true);
    expect(await t.click()).toEqual({ ok: false, code: 'busy', displayId: 'COT-1042' });
    expect(t.gets).toEqual([]);
    expect(t.workspace.tried).toEqual([]);
  });

  it('access refused → nothing read, nothing created', async () => {
    const t = await setup({ denied: [JANE.id] });
    expect(await t.click()).toEqual({ ok: false, code: 'denied', reason: 'not_channel_member' });
    expect(t.gets).toEqual([]);
    expect(t.workspace.tried).toEqual([]);
    expect(await t.store.listOutbox()).toEqual([]);
  });

  it('access refused even when the war room exists: not pointed to it, not invited', async () => {
    const t = await setup();
    await t.click(JANE.id);
    const t2 = createOpenWarRoom({
      ...({} as WarRoomDeps),
      store: t.store,
      logger,
      access: { check: async () => ({ ok: false, reason: 'guest' }) },
    } as WarRoomDeps);
    const invites = t.workspace.invites.length;
    expect(await t2({ alertId: t.a.id, userId: 'U0GUEST', place: null })).toEqual({
      ok: false,
      code: 'denied',
      reason: 'guest',
    });
    expect(t.workspace.invites).toHaveLength(invites);
  });

  it('the alert gone from Cotool → not_found; Cotool down → upstream; nothing created', async () => {
    const gone = await setup({
      cotoolGet: new CotoolError({ kind: 'http', method: 'GET', path: '/api/alerts/x', status: 404 }),
    });
    expect(await gone.click()).toMatchObject({ ok: false, code: 'not_found', displayId: 'COT-1042' });
    const down = await setup({
      cotoolGet: new CotoolError({ kind: 'timeout', method: 'GET', path: '/api/alerts/x', detail: 'slow' }),
    });
    expect(await down.click()).toMatchObject({ ok: false, code: 'upstream', cotoolCode: 'upstream' });
    expect([...gone.workspace.tried, ...down.workspace.tried]).toEqual([]);
  });

  it('after the record, failures are said, not fatal: refused invites, no bookmark link, Cotool comment lost', async () => {
    const t = await setup({ oncall: ['U0GONE', 'S0MISSING'], commentFails: true, alert: { organizationName: null } });
    const r = await t.click();
    expect(r).toMatchObject({
      ok: true,
      created: true,
      commented: false,
      refused: [
        { id: 'S0MISSING', code: 'no_such_subteam' },
        { id: 'U0GONE', code: 'user_is_deactivated' },
      ],
    });
    // The default link template names the organization: without one there is no link to bookmark.
    expect(t.workspace.bookmarks).toEqual([]);
    expect(await t.store.getWarRoom(t.a.id)).not.toBeNull();
  });

  it('no card in Slack and no clicked message: the card goes to the war room, no thread note', async () => {
    const t = await setup({ card: false });
    await t.open({ alertId: t.a.id, userId: JANE.id, place: null });
    expect((await t.store.listOutbox()).map((i) => i.kind)).toEqual(['card']);
  });
});

describe('war room helpers', () => {
  it('invitees: the clicker first, users and groups apart, here/channel and junk ignored, no repeats', () => {
    expect(inviteesOf('U0JANE', ['U0JANE', 'W0ANA', 'S0SEC', 'here', 'channel', '<!everyone>'])).toEqual({
      users: ['U0JANE', 'W0ANA'],
      groups: ['S0SEC'],
    });
  });

  it('the comment names the clicker and the channel, without a link when the workspace is unknown', () => {
    const body = warRoomComment(
      { id: 'U0JANE', name: 'Jane <@U0EVIL>' },
      { name: 'inc-cot-1', channel: 'C0WAR1' },
      null,
    );
    expect(body).toBe(
      'Note from Slack by Jane @U0EVIL (<@U0JANE>): Opened the incident channel #inc-cot-1 (Slack channel C0WAR1) for this alert.',
    );
  });
});

describe('what the clicker is told', () => {
  const describeAccess = () => 'members of <#C0ALERTS>';
  it('where the channel is, who could not be invited, or why there is none — nothing injected', () => {
    const opened = warRoomText(
      {
        ok: true,
        created: true,
        channel: 'C0WAR1',
        name: 'inc-cot-1',
        displayId: 'COT-1',
        commented: true,
        refused: [
          { id: 'U0GONE', code: 'user_is_deactivated' },
          { id: 'S0SEC', code: '<!channel>' },
          { id: '<!here>', code: 'x' },
        ],
      },
      describeAccess,
    );
    expect(opened).toContain('Incident channel opened: <#C0WAR1>');
    expect(opened).toContain('<@U0GONE> (`user_is_deactivated`)');
    expect(opened).toContain('<!subteam^S0SEC> (`&lt;!channel&gt;`)');
    expect(opened).not.toMatch(/<!(channel|here)>/);
    expect(
      warRoomText(
        { ok: true, created: false, channel: 'C0WAR1', name: 'x', displayId: 'COT-1', refused: [], commented: null },
        describeAccess,
      ),
    ).toContain('already open: <#C0WAR1>');
    expect(warRoomText({ ok: false, code: 'busy', displayId: 'COT-<!here>' }, describeAccess)).not.toContain('<!here>');
    expect(warRoomText({ ok: false, code: 'restricted', displayId: 'COT-1' }, describeAccess)).toContain(
      'restricted_action',
    );
    expect(warRoomText({ ok: false, code: 'name_taken', displayId: 'COT-1', tries: 5 }, describeAccess)).toContain(
      '5 tries',
    );
    const failed = warRoomText(
      { ok: false, code: 'slack', displayId: 'COT-1', slackCode: '<@U0EVIL>', ref: 'abcd1234' },
      describeAccess,
    );
    expect(failed).toContain('`&lt;@U0EVIL&gt;`');
    expect(failed).toContain('abcd1234');
    expect(warRoomText({ ok: false, code: 'denied', reason: 'not_channel_member' }, describeAccess)).toContain(
      'members of <#C0ALERTS>',
    );
  });
});
