import { describe, expect, it } from 'vitest';
import { createEditDetails, type EditDetailsInput } from '../../src/service/edit-details.ts';
import { editPrefill } from '../../src/slack/views/edit-modal.ts';
import { CARD_TS, CHANNEL, httpError, JANE, json, timeoutError, triageHarness } from './fakes.ts';

const START = '2026-11-23T10:00:00.000Z';
type H = Awaited<ReturnType<typeof triageHarness>>;

function edit(h: H, fields: Partial<EditDetailsInput>) {
  const prefill = editPrefill(h.cotool.alert);
  return createEditDetails(h.deps)({
    alertId: h.alert.id,
    expectedUpdatedAt: START,
    userId: JANE.id,
    title: prefill.title ?? undefined,
    description: prefill.description ?? undefined,
    ...fields,
  });
}
const patches = (h: H) => h.cotool.calls.filter((c) => c.method === 'updateDetails').map((c) => c.args[1]);

describe('editDetails', () => {
  it('sends only the title when only the title changed; thread says old → new; card redrawn', async () => {
    const h = await triageHarness({ title: 'Old <!here> title', description: 'Keep' });
    const r = await edit(h, { title: 'New title' });
    expect(r).toMatchObject({ ok: true, changed: ['title'], cardUpdated: true });
    expect(patches(h)).toEqual([{ title: 'New title' }]);
    expect(await h.replies()).toHaveLength(1);
    expect((await h.replies())[0]).toMatchObject({ channel: CHANNEL, thread_ts: CARD_TS, reply_broadcast: false });
    const reply = json((await h.replies())[0]);
    expect(reply).toContain('<@U0JANE> renamed *');
    expect(reply).toContain('Old &lt;!here&gt; title');
    expect(reply).not.toContain('<!here>');
    expect(json(h.slack.updates[0]?.blocks)).toContain('New title');
    expect(json(h.slack.updates[0]?.blocks)).toContain('Edited by Jane Doe');
    expect((await h.store.get(h.alert.id))?.lastAction).toMatchObject({ kind: 'edit', by: JANE });
    expect(h.changed).toHaveLength(1);
  });

  it('sends only the description when only it changed; an emptied description is cleared (null)', async () => {
    const h = await triageHarness({ description: 'Before' });
    expect(await edit(h, { description: 'After' })).toMatchObject({ ok: true, changed: ['description'] });
    const h2 = await triageHarness({ description: 'Before' });
    expect(await edit(h2, { description: '   ' })).toMatchObject({ ok: true, changed: ['description'] });
    expect(patches(h)).toEqual([{ description: 'After' }]);
    expect(patches(h2)).toEqual([{ description: null }]);
    expect(json((await h.replies())[0])).toContain('edited the description of *');
  });

  it('an unchanged form sends nothing (line endings and surrounding blanks aside)', async () => {
    const h = await triageHarness({ title: 'T', description: 'a\r\nb' });
    const r = await edit(h, { title: ' T ', description: 'a\nb\n' });
    expect(r).toMatchObject({ ok: true, changed: [] });
    expect(patches(h)).toEqual([]);
    expect(await h.replies()).toHaveLength(0);
  });

  it('a description too long for the form is never sent, whatever comes back', async () => {
    const long = 'y'.repeat(5_000);
    const h = await triageHarness({ description: long });
    expect(editPrefill(h.cotool.alert).description).toBeNull();
    const r = await edit(h, { title: 'Renamed', description: 'y'.repeat(2_999) });
    expect(r).toMatchObject({ ok: true, changed: ['title'] });
    expect(patches(h)).toEqual([{ title: 'Renamed' }]);
    expect(h.cotool.alert.description).toBe(long);
  });

  it('control characters are not prefilled, so an untouched field with them is not rewritten', async () => {
    const h = await triageHarness({ title: 'a\u202Eb\u0007c' });
    expect(editPrefill(h.cotool.alert).title).toBe('abc');
    expect(await edit(h, {})).toMatchObject({ ok: true, changed: [] });
  });

  it('stale (the alert changed since the form opened) → nothing sent', async () => {
    const h = await triageHarness();
    h.cotool.changeElsewhere({ title: 'Changed in Cotool' });
    expect(await edit(h, { title: 'Mine' })).toMatchObject({ ok: false, code: 'stale' });
    expect(patches(h)).toEqual([]);
  });

  it('Cotool 403 → forbidden; a lost answer with the edit applied → success confirmed by re-reading', async () => {
    const h = await triageHarness();
    h.cotool.fail.details.push(httpError(403, { missingPerms: ['alert.update'] }, 'PATCH'));
    expect(await edit(h, { title: 'X' })).toMatchObject({ ok: false, code: 'forbidden' });
    const h2 = await triageHarness();
    h2.cotool.fail.details.push(timeoutError('PATCH'));
    h2.cotool.applyDespiteFailure.details = true;
    expect(await edit(h2, { title: 'X' })).toMatchObject({ ok: true, changed: ['title'], confirmedByReread: true });
  });

  it('keeps the hydrated fields the PATCH answer lacks (the card keeps its agent)', async () => {
    const h = await triageHarness();
    await edit(h, { title: 'X' });
    expect(json(h.slack.updates[0]?.blocks)).toContain('Aria');
  });
});
