// Allocation profile of one steady poll cycle (developer tool): node bench/lib/heap-poll.ts N
import { Session } from 'node:inspector/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startBot } from '../../src/bot.ts';
import { COTOOL_TEST_API_KEY } from '../../test/e2e/fakes/cotool.ts';
import { startFakeSlack } from '../../test/e2e/fakes/slack.ts';
import { benchAlert, startAlertPages } from './alert-pages.ts';

const N = Number(process.argv[2] ?? 10000);
const cotool = await startAlertPages(Array.from({ length: N }, (_, i) => benchAlert(i)), COTOOL_TEST_API_KEY);
const slack = await startFakeSlack();
const dir = mkdtempSync(join(tmpdir(), 'prof-'));
const bot = await startBot({
  COTOOL_API_URL: cotool.url, COTOOL_API_KEY: COTOOL_TEST_API_KEY, SLACK_BOT_TOKEN: slack.botToken, SLACK_APP_TOKEN: slack.appToken,
  SLACK_API_URL: slack.apiUrl, SLACK_ALERT_CHANNEL: 'C0ALERTS', DATABASE_URL: `sqlite:${join(dir, 'b.db')}`, PORT: '0', LOG_LEVEL: 'warn', BACKLOG: 'all', STORM_THRESHOLD: '100000', SLACK_POST_RATE: '50', SLACK_POST_BURST: '50',
}, { schedule: false, logDestination: new Writable({ write(_c, _e, cb) { cb(); } }) });
await bot.poller.runOnce();
await bot.poller.runOnce();
const s = new Session(); s.connect();
await s.post('HeapProfiler.enable'); await s.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
await bot.poller.runOnce();
const { profile } = await s.post('HeapProfiler.stopSampling');
const totals = new Map<string, number>();
function walk(n: any, stack: string[]) {
  const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`;
  totals.set(k, (totals.get(k) ?? 0) + n.selfSize);
  for (const c of n.children) walk(c, [...stack, k]);
}
walk(profile.head, []);
for (const [k, v] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log((v / 1e6).toFixed(1).padStart(7), 'MB', k);
process.exit(0);
