import { describe, expect, it } from 'vitest';
import { AlertSchema, driftOf, entryDriftOf, TimelineEntrySchema } from '../../src/core/alert.ts';

const minimal = { id: 'x', displayId: 'COT-1', title: 't', status: 'open', createdAt: 'a', updatedAt: 'b' };

describe('tolerant alert schema', () => {
  it('needs only what the bot cannot work without; the rest reads as null', () => {
    const a = AlertSchema.parse(minimal);
    expect(a).toMatchObject({
      description: null,
      severity: null,
      source: null,
      detection: null,
      assignedAgentName: null,
    });
  });

  it.each(['id', 'displayId', 'title', 'status', 'createdAt', 'updatedAt'])('refuses an alert without %s', (key) => {
    const { [key as keyof typeof minimal]: _, ...rest } = minimal;
    expect(AlertSchema.safeParse(rest).success).toBe(false);
  });

  it('keeps ids as opaque strings: a non-RFC-4122 UUID is not an error', () => {
    const id = '12345678-1234-1234-1234-123456789012';
    expect(AlertSchema.parse({ ...minimal, id, triageRunId: 'not-a-uuid' }).id).toBe(id);
  });

  it('keeps unknown enum values and extra fields, and reports them as drift', () => {
    const raw = {
      ...minimal,
      status: 'snoozed',
      severity: 'apocalyptic',
      source: { category: 'detection', name: 'pagerduty', triggerType: null },
      riskScore: 97,
    };
    const a = AlertSchema.parse(raw);
    expect([a.status, a.severity]).toEqual(['snoozed', 'apocalyptic']);
    expect(
      driftOf(raw)
        .map((d) => `${d.kind}:${d.path}`)
        .sort(),
    ).toEqual([
      'unknown_field:alert.riskScore',
      'unknown_value:alert.severity',
      'unknown_value:alert.source.name',
      'unknown_value:alert.status',
    ]);
    expect(driftOf({ ...minimal, timeline: [] })).toEqual([]);
  });

  it('reads timeline entries tolerantly and reports unknown kinds', () => {
    const raw = { id: 'e1', createdAt: 'c', kind: 'sla_breach', metadata: null, mood: 'grim' };
    expect(TimelineEntrySchema.parse(raw)).toMatchObject({ kind: 'sla_breach', metadata: {}, actorAgentName: null });
    expect(
      entryDriftOf(raw)
        .map((d) => d.path)
        .sort(),
    ).toEqual(['timeline.kind', 'timeline.mood']);
  });
});
