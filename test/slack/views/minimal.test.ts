import { describe, expect, it } from 'vitest';
import { minimalCard, minimalDigest } from '../../../src/slack/views/minimal.ts';
import { HOSTILE } from '../hostile.ts';

const text = (v: { text: string; blocks: unknown[] }) => JSON.stringify(v);

describe('the minimal fallbacks', () => {
  it('a card: id, title, status and link in one section, no buttons', () => {
    const v = minimalCard(
      { displayId: 'COT-7', title: 'Login from a new country', status: 'closed_false_positive' },
      'https://app.cotool.ai/acme/alerts/COT-7',
    );
    expect(v.blocks).toHaveLength(1);
    expect(v.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    expect(text(v)).toContain('*COT-7* Login from a new country — Closed · False positive');
    expect(text(v)).toContain('<https://app.cotool.ai/acme/alerts/COT-7|Open in Cotool>');
    expect(minimalCard({ displayId: 'COT-7', title: 't', status: 'open' }, null).blocks[0]).not.toHaveProperty(
      'accessory',
    );
    expect(text(minimalCard({ displayId: 'COT-7', title: 't', status: 'open' }, 'javascript:alert(1)'))).not.toContain(
      'javascript',
    );
  });

  it('hostile titles cannot ping, mention or disguise a link, and stay short', () => {
    for (const s of HOSTILE) {
      const v = minimalCard({ displayId: s.slice(0, 200), title: s, status: s.slice(0, 50) }, null);
      const body = (v.blocks[0] as { text: { text: string } }).text.text;
      expect(body).not.toMatch(/<!(channel|here|everyone)|<@U|<#C|<!subteam|<https?:|<mailto:/);
      expect(body.length).toBeLessThanOrEqual(3_000);
      // Verbatim: Slack does not turn a bare URL or #channel in alert text into a link.
      expect((v.blocks[0] as { text: { verbatim?: boolean } }).text.verbatim).toBe(true);
    }
    expect((minimalDigest(1, ['COT-1']).blocks[0] as { text: { verbatim?: boolean } }).text.verbatim).toBe(true);
  });

  it('a digest: the count and the ids that fit', () => {
    const ids = Array.from({ length: 1_000 }, (_, i) => `COT-${i + 1}`);
    const v = minimalDigest(ids.length, ids);
    const body = (v.blocks[0] as { text: { text: string } }).text.text;
    expect(body).toContain('1000 alerts');
    expect(body).toContain('COT-1, COT-2');
    expect(body).toMatch(/and \d+ more$/);
    expect(body.length).toBeLessThanOrEqual(3_000);
    expect(minimalDigest(1, ['COT-1']).text).toBe('Alert storm — 1 alert');
  });
});
