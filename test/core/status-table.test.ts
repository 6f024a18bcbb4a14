import { describe, expect, it } from 'vitest';
import {
  CLOSE_CHOICES,
  CLOSED_AS,
  OP_DISPOSITION,
  OP_STATUS,
  STATUS_CHANGES,
  statusDone,
  statusOfDisposition,
} from '../../src/core/verdict.ts';
import { ALERT_STATUSES, CLOSED_STATUSES, DISPOSITIONS } from '../../src/cotool/schemas.ts';
import { buildReason } from '../../src/service/reason.ts';
import { OPS } from '../../src/slack/ids.ts';
import { statusPhrase } from '../../src/slack/messages.ts';

describe('the status ↔ op ↔ disposition table', () => {
  it('covers every Cotool status once, with an op the cards know', () => {
    expect(STATUS_CHANGES.map((r) => r.status).sort()).toEqual([...ALERT_STATUSES].sort());
    const ops = Object.values(OPS) as string[];
    for (const row of STATUS_CHANGES) expect(ops).toContain(row.op);
    expect(new Set(STATUS_CHANGES.map((r) => r.op)).size).toBe(STATUS_CHANGES.length);
  });

  it('gives every closed status a disposition, and only those', () => {
    for (const row of STATUS_CHANGES) {
      expect(row.disposition !== null).toBe((CLOSED_STATUSES as readonly string[]).includes(row.status));
    }
    expect(CLOSE_CHOICES.map((c) => c.d).sort()).toEqual([...DISPOSITIONS].sort());
    for (const d of DISPOSITIONS) expect(statusOfDisposition(d)).toBe(`closed_${d}`);
  });

  it('derives the lookups the cards and listeners use', () => {
    expect(OP_STATUS).toEqual({
      close_fp: 'closed_false_positive',
      close_benign: 'closed_true_positive_benign',
      close_tp: 'closed_true_positive',
      escalate: 'escalated',
      reopen: 'open',
      in_progress: 'in_progress',
    });
    expect(OP_DISPOSITION).toEqual({
      close_fp: 'false_positive',
      close_benign: 'true_positive_benign',
      close_tp: 'true_positive',
    });
    expect(CLOSED_AS).toEqual({
      closed_false_positive: 'false positive',
      closed_true_positive_benign: 'benign',
      closed_true_positive: 'true positive',
    });
    expect(CLOSE_CHOICES.map((c) => c.label)).toEqual([
      'False positive',
      'Benign (true positive, expected)',
      'True positive',
    ]);
  });

  it('names each change the same way everywhere', () => {
    for (const row of STATUS_CHANGES) {
      if (row.as !== null) expect(row.done).toBe(`closed as ${row.as}`);
      expect(statusPhrase(row.status)).toBe(row.done);
      expect(statusDone(row.status)).toBe(row.done);
      const verb = `${row.done[0]?.toUpperCase()}${row.done.slice(1)}`;
      expect(buildReason(row.status, { id: 'U1', name: 'Ana' }).reason).toBe(`${verb} from Slack by Ana`);
    }
    expect(statusDone('archived')).toBeNull();
    expect(statusPhrase('archived')).toBe('set to archived');
  });
});
