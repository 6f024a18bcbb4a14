/**
 * The use-cases as bot.ts builds them (createUseCases): the four-eyes gate, the status change and the
 * decisions wired without binding anything after construction, and every change asked from Slack
 * counted by op and outcome — an exception too.
 */
import { describe, expect, it } from 'vitest';
import { CHANNEL, drainOutbox, harnessUseCases, JANE, triageHarness } from './fakes.ts';

const SAM = 'U0SAM';

/** The triage-action samples of a registry, as `op outcome count` lines. */
async function counted(metrics: { render(): Promise<string> }): Promise<string[]> {
  const text = await metrics.render();
  return [...text.matchAll(/^cotool_slack_triage_actions_total\{op="([^"]+)",outcome="([^"]+)"\} (\d+)$/gm)].map(
    (m) => `${m[1]} ${m[2]} ${m[3]}`,
  );
}

describe('use-cases built once', () => {
  it('four eyes: a gated close asks, a second person approves, one change is made through the counted status change', async () => {
    const h = await triageHarness({ severity: 'critical' });
    const { useCases, metrics } = harnessUseCases(h, {
      fourEyes: { severities: ['critical'], alertChannel: CHANNEL },
    });
    const asked = await useCases.changeStatus({
      alertId: h.alert.id,
      expectedUpdatedAt: h.alert.updatedAt,
      status: 'closed_false_positive',
      userId: JANE.id,
    });
    expect(asked).toMatchObject({ ok: true, statusChanged: false, approval: { fresh: true } });
    expect(h.cotool.alert.status).not.toBe('closed_false_positive');
    await drainOutbox(h);
    const request = await h.store.pendingCloseRequest(h.alert.id);
    if (!request || !useCases.fourEyes) throw new Error('no request, or four eyes is off');
    const approved = await useCases.fourEyes.approve(request.id, SAM, 'interaction:U0SAM:1.2:approve');
    expect(approved).toMatchObject({ ok: true, change: { statusChanged: true } });
    expect(h.cotool.alert.status).toBe('closed_false_positive');
    expect(h.cotool.calls.filter((c) => c.method === 'updateStatus')).toHaveLength(1);
    // The ask (nothing changed yet) and the approval's change, both through one counted use-case.
    expect(await counted(metrics)).toEqual(['closed_false_positive noop 1', 'closed_false_positive ok 1']);
  });

  it('four eyes is off when no severity is listed: closes go straight through', async () => {
    const h = await triageHarness({ severity: 'critical' });
    const { useCases, metrics } = harnessUseCases(h, { fourEyes: { severities: [], alertChannel: CHANNEL } });
    expect(useCases.fourEyes).toBeNull();
    const r = await useCases.changeStatus({
      alertId: h.alert.id,
      expectedUpdatedAt: h.alert.updatedAt,
      status: 'closed_false_positive',
      userId: JANE.id,
    });
    expect(r).toMatchObject({ ok: true, statusChanged: true });
    expect(await counted(metrics)).toEqual(['closed_false_positive ok 1']);
  });

  it('counts refusals, edits and exceptions (an exception counts as error and is rethrown)', async () => {
    const h = await triageHarness();
    const { useCases, metrics } = harnessUseCases(h);
    h.access.policy.check = async () => ({ ok: false, reason: 'not_allowed' });
    const denied = await useCases.changeStatus({
      alertId: h.alert.id,
      expectedUpdatedAt: h.alert.updatedAt,
      status: 'escalated',
      userId: JANE.id,
    });
    expect(denied).toMatchObject({ ok: false, code: 'denied' });
    h.access.policy.check = async (id) => ({ ok: true, user: { id, name: JANE.name } as never });
    h.cotool.fail.get.push(new Error('a bug, not a Cotool failure'));
    await expect(
      useCases.editDetails({ alertId: h.alert.id, expectedUpdatedAt: h.alert.updatedAt, userId: JANE.id, title: 'x' }),
    ).rejects.toThrow('a bug');
    expect(await counted(metrics)).toEqual(['escalated denied 1', 'edit error 1']);
  });
});
