import type { Alert } from '../../src/core/alert.ts';

let n = 0;
/** A realistic alert for unit tests (every documented field present). */
export function alert(overrides: Partial<Alert> = {}): Alert {
  n++;
  const id = overrides.id ?? `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  return {
    id,
    displayId: `COT-${n}`,
    organizationId: '11111111-1111-4111-8111-111111111111',
    organizationName: 'acme',
    title: `Suspicious login ${n}`,
    description: 'Impossible travel between two sign-ins.',
    severity: 'high',
    status: 'open',
    source: { category: 'detection', name: 'cotool_detection', triggerType: null },
    detection: { id: null, agentId: null, name: 'Impossible travel', kind: 'cotool' },
    createdBy: 'agent',
    originAgentId: null,
    originTriggerId: null,
    originRunId: null,
    originDetectionHitId: null,
    externalProvider: null,
    externalRef: null,
    externalUrl: null,
    assignedAgentId: null,
    triageRunId: null,
    dedupeKey: null,
    createdAt: '2026-11-23T10:00:00.000Z',
    updatedAt: '2026-11-23T10:00:00.000Z',
    firstTriagedAt: null,
    resolvedAt: null,
    derivedDisposition: null,
    originAgentName: null,
    assignedAgentName: 'Aria',
    triggerSource: null,
    ...overrides,
  };
}
