import { describe, expect, it } from 'vitest';
import { AlertSchema, driftOf } from '../src/cotool/schemas.ts';

describe('smoke', () => {
  it('parses a minimal alert', () => {
    const raw = { id: 'x', displayId: 'COT-1', title: 't', status: 'weird', createdAt: 'a', updatedAt: 'b', extra: 1 };
    const a = AlertSchema.parse(raw);
    expect(a.description).toBeNull();
    expect(
      driftOf(raw)
        .map((d) => d.path)
        .sort(),
    ).toEqual(['alert.extra', 'alert.status']);
  });
});
