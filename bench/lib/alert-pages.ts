/**
 * A lean stand-in for Cotool's list endpoint, for benchmarks with 10,000–100,000 live alerts: the
 * pages are serialised once and served as they are, so the benchmark measures the bot, not the fake.
 * Serves `GET /api/alerts?limit&offset[&status…]` and `GET /api/alerts/{id}` on 127.0.0.1.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const DETECTIONS = [
  'Impossible travel',
  'Brute force on VPN',
  'New admin role granted outside change window',
  'Mass download from shared drive',
  'Suspicious OAuth consent grant',
];

export type BenchAlert = Record<string, unknown> & { id: string; displayId: string; status: string; updatedAt: string };

/** A realistic alert (every documented field), about 1.2 kB of JSON. */
export function benchAlert(i: number, over: Partial<BenchAlert> = {}): BenchAlert {
  const created = new Date(Date.now() - (100_000 - i) * 1000).toISOString();
  const det = DETECTIONS[i % DETECTIONS.length] as string;
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    displayId: `COT-${i + 1}`,
    organizationId: '11111111-1111-4111-8111-111111111111',
    organizationName: 'acme',
    title: `${det}: user${i}@acme.example from 203.0.113.${i % 250}`,
    description: `**${det}** fired for \`user${i}@acme.example\`.\n\n- Source IP: 203.0.113.${i % 250}\n- ASN: AS64500\n- Device: LAPTOP-${i}`,
    severity: SEVERITIES[i % 4],
    status: 'open',
    source: { category: 'detection', name: 'cotool_detection', triggerType: null },
    detection: { id: `d-${i % DETECTIONS.length}`, agentId: null, name: det, kind: 'cotool' },
    createdBy: 'agent',
    originAgentId: '29e20d42-aedf-51c6-a673-77ba1143e692',
    originTriggerId: null,
    originRunId: 'f22e5588-57be-4d82-bb85-7cc4ac9c6c7b',
    originDetectionHitId: 'c2468497-f0b5-4d56-acfa-ad343f511049',
    externalProvider: null,
    externalRef: null,
    externalUrl: null,
    assignedAgentId: '049f12c8-1aa1-5cd7-a293-08262e2cd5cc',
    triageRunId: null,
    dedupeKey: `detection-hit:${i}`,
    createdAt: created,
    updatedAt: created,
    firstTriagedAt: null,
    resolvedAt: null,
    derivedDisposition: null,
    originAgentName: 'Identity Detection Agent',
    assignedAgentName: 'Tier 1 Response Agent',
    triggerSource: null,
    ...over,
  };
}

export type AlertPagesServer = {
  url: string;
  alerts: BenchAlert[];
  /** Re-serialise the pages after `alerts` changed. */
  rebuild(): void;
  /** The page bodies as served (for a JSON.parse baseline). */
  pages(): string[];
  requests: number;
  close(): Promise<void>;
};

export async function startAlertPages(alerts: BenchAlert[], apiKey: string): Promise<AlertPagesServer> {
  const PAGE = 200;
  let pages: string[] = [];
  const byId = new Map<string, BenchAlert>();
  const rebuild = () => {
    const live = alerts.filter((a) => ['open', 'in_progress', 'escalated'].includes(a.status));
    pages = [];
    for (let o = 0; o < Math.max(1, live.length); o += PAGE) {
      pages.push(JSON.stringify({ alerts: live.slice(o, o + PAGE), totalCount: live.length }));
    }
    byId.clear();
    for (const a of alerts) byId.set(a.id, a);
  };
  rebuild();
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return void res.end('{"error":"Unauthorized"}');
    }
    if (url.pathname === '/api/alerts') {
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? PAGE);
      const body =
        limit === PAGE && offset % PAGE === 0
          ? (pages[offset / PAGE] ?? JSON.stringify({ alerts: [], totalCount: 0 }))
          : JSON.stringify({ alerts: [], totalCount: 0 });
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(body);
    }
    const m = /^\/api\/alerts\/([^/]+)$/.exec(url.pathname);
    const a = m ? byId.get(decodeURIComponent(m[1] as string)) : undefined;
    if (a) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ alert: { ...a, timeline: [] } }));
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"Not found"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    alerts,
    rebuild,
    pages: () => pages,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
