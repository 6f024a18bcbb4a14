/** Alerts and timelines for the look-up view tests: realistic ones, and ones made of a hostile string. */
import type { Alert, AlertWithTimeline, TimelineEntry } from '../../../src/core/alert.ts';
import { alert } from '../../support/alerts.ts';

export const ID = '8f14e45f-ceea-467a-9c1a-6c1f8b3d2e5a';
export const URL_IN_COTOOL = 'https://app.cotool.ai/acme/alerts/COT-123';

let seq = 0;
export function entry(fields: Partial<TimelineEntry> & { kind: string }): TimelineEntry {
  seq++;
  return {
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    alertId: ID,
    organizationId: null,
    createdAt: '2026-11-23T10:00:00.000Z',
    actorType: 'system',
    actorUserId: null,
    actorAgentId: null,
    actorRunId: null,
    actorUserName: null,
    actorUserImageUrl: null,
    actorAgentName: null,
    bodyMarkdown: null,
    beforeStatus: null,
    afterStatus: null,
    metadata: {},
    ...fields,
  };
}

/** One entry of every kind, oldest first, as Cotool's first timeline page comes. */
export function fullTimeline(): TimelineEntry[] {
  const at = (min: number) => new Date(Date.UTC(2026, 10, 23, 10, min)).toISOString();
  return [
    entry({ kind: 'created', createdAt: at(0), actorType: 'agent', actorAgentName: 'Identity Detection Agent' }),
    entry({
      kind: 'assignment_change',
      createdAt: at(1),
      actorType: 'agent',
      actorAgentName: 'Aria',
      metadata: { assignedAgentId: '11111111-1111-4111-8111-111111111111' },
    }),
    entry({
      kind: 'triage_run',
      createdAt: at(2),
      actorType: 'agent',
      actorAgentName: 'Aria',
      bodyMarkdown: 'Checked sign-in history.',
    }),
    entry({
      kind: 'status_change',
      createdAt: at(3),
      actorType: 'agent',
      actorAgentName: 'Aria',
      beforeStatus: 'open',
      afterStatus: 'escalated',
      bodyMarkdown: 'Token replay from a TOR exit node.',
    }),
    entry({
      kind: 'severity_change',
      createdAt: at(4),
      actorType: 'human',
      actorUserName: 'Dana Analyst',
      metadata: { beforeSeverity: 'high', afterSeverity: 'critical', reason: 'VIP account' },
    }),
    entry({
      kind: 'title_change',
      createdAt: at(5),
      actorType: 'human',
      actorUserName: 'Dana Analyst',
      metadata: { beforeTitle: 'Suspicious login', afterTitle: 'Token replay on CFO account' },
    }),
    entry({ kind: 'description_change', createdAt: at(6), actorType: 'human', actorUserName: 'Dana Analyst' }),
    entry({
      kind: 'comment',
      createdAt: at(7),
      actorType: 'human',
      actorUserName: 'Bo',
      bodyMarkdown: 'Called the CFO,\nit was not them.',
    }),
    entry({
      kind: 'external_event',
      createdAt: at(8),
      actorType: 'system',
      bodyMarkdown: 'Jira SEC-42 moved to In Review',
    }),
    entry({ kind: 'snoozed', createdAt: at(9), actorType: 'robot' }),
  ];
}

export function lookupAlert(overrides: Partial<AlertWithTimeline> = {}): AlertWithTimeline {
  return {
    ...alert({
      id: ID,
      displayId: 'COT-123',
      title: 'Token replay on CFO account',
      description: 'Sign-in for *cfo@acme.com* from 203.0.113.7.\n'.repeat(3),
      severity: 'critical',
      status: 'escalated',
      createdAt: '2026-11-23T10:00:00.000Z',
      updatedAt: '2026-11-23T10:09:00.000Z',
    }),
    timeline: fullTimeline(),
    ...overrides,
  };
}

/** An alert whose every text field is `h`. */
export function hostileAlert(h: string, status: string, id = ID): Alert {
  return alert({
    id,
    status,
    displayId: h || 'COT-1',
    title: h,
    description: h,
    severity: h || null,
    organizationName: h,
    assignedAgentName: h,
    externalProvider: h,
    externalRef: h,
    externalUrl: h,
    source: { category: h, name: h, triggerType: h },
    detection: { id: null, agentId: null, name: h, kind: h },
    createdAt: h,
    updatedAt: '2026-11-23T10:00:00.000Z',
    resolvedAt: h,
  });
}

/** Entries of every kind (and an unknown one) whose every text field is `h`. */
export function hostileTimeline(h: string): TimelineEntry[] {
  const kinds = [
    'created',
    'comment',
    'status_change',
    'title_change',
    'description_change',
    'severity_change',
    'assignment_change',
    'triage_run',
    'external_event',
    h,
  ];
  return kinds.flatMap((kind) =>
    ['agent', 'human', 'system', h].map((actorType) =>
      entry({
        kind,
        actorType,
        createdAt: h,
        actorUserName: h,
        actorAgentName: h,
        bodyMarkdown: h,
        beforeStatus: h,
        afterStatus: h,
        metadata: {
          reason: h,
          beforeTitle: h,
          afterTitle: h,
          beforeSeverity: h,
          afterSeverity: h,
          assignedAgentId: h,
        },
      }),
    ),
  );
}
