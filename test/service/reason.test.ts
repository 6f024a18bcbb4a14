import { describe, expect, it } from 'vitest';
import { buildReason, nameInReason, REASON_MAX, REASON_WORDS_MAX } from '../../src/core/attribution.ts';

const JANE = { id: 'U0123ABC', name: 'Jane Doe' };

describe('the reason sent with a status change', () => {
  it.each([
    ['closed_false_positive', 'Closed as false positive from Slack by Jane Doe (<@U0123ABC>)'],
    ['closed_true_positive_benign', 'Closed as benign from Slack by Jane Doe (<@U0123ABC>)'],
    ['closed_true_positive', 'Closed as true positive from Slack by Jane Doe (<@U0123ABC>)'],
    ['escalated', 'Escalated from Slack by Jane Doe (<@U0123ABC>)'],
    ['in_progress', 'Marked in progress from Slack by Jane Doe (<@U0123ABC>)'],
    ['open', 'Reopened from Slack by Jane Doe (<@U0123ABC>)'],
  ])('%s → %s', (status, expected) => {
    expect(buildReason(status, JANE)).toEqual({ reason: expected, wordsCut: false, keptChars: 0 });
  });

  it('adds the analyst’s words after a colon, cleaned of control characters', () => {
    const r = buildReason('closed_false_positive', JANE, '  Scanner\r\nfrom IT\u0007 \u202E ');
    expect(r.reason).toBe('Closed as false positive from Slack by Jane Doe (<@U0123ABC>): Scanner\nfrom IT');
  });

  it('a hostile or huge display name stays one short line and cannot fake the id', () => {
    const r = buildReason('escalated', { id: 'U0123ABC', name: `Eve (<@U0BOSS>)\n${'x'.repeat(500)}` });
    expect(r.reason).toMatch(/^Escalated from Slack by Eve @U0BOSS x+… \(<@U0123ABC>\)$/);
    expect(r.reason.length).toBeLessThan(200);
    expect(nameInReason(r.reason)).toMatch(/^Eve @U0BOSS x+…$/);
  });

  it('never exceeds 2,000 characters; words that do not fit are cut and the cut is reported', () => {
    const fits = buildReason(
      'closed_true_positive',
      { id: 'W0123456789', name: 'n'.repeat(200) },
      'w'.repeat(REASON_WORDS_MAX),
    );
    expect(fits.wordsCut).toBe(false);
    expect(fits.reason.length).toBeLessThanOrEqual(REASON_MAX);
    const cut = buildReason('closed_true_positive', JANE, 'w'.repeat(5_000));
    expect(cut.reason.length).toBe(REASON_MAX);
    expect(cut).toMatchObject({ wordsCut: true });
    expect(cut.keptChars).toBe(cut.reason.length - cut.reason.indexOf(': ') - 3);
  });

  it('a user id that is not a Slack user id is left out rather than written as a mention', () => {
    expect(buildReason('open', { id: '<!channel>', name: 'X' }).reason).toBe('Reopened from Slack by X');
  });

  it('finds the name in a reason it wrote', () => {
    expect(nameInReason('Closed as benign from Slack by Jane Doe (<@U0123ABC>): ok')).toBe('Jane Doe');
    expect(nameInReason('closed by the agent')).toBeNull();
    expect(nameInReason(null)).toBeNull();
  });
});
