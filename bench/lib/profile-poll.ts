// Profiles one steady poll cycle in-process (developer tool): node bench/lib/profile-poll.ts N
import { Session } from 'node:inspector/promises';
import { writeFileSync, mkdtempSync } from 'node:fs';
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
  SLACK_API_URL: slack.apiUrl, SLACK_ALERT_CHANNEL: 'C0ALERTS', DATABASE_URL: `sqlite:${join(dir, 'b.db')}`, PORT: '0', LOG_LEVEL: 'warn', BACKLOG: 'all',
}, { schedule: false, logDestination: new Writable({ write(_c, _e, cb) { cb(); } }) });
let t = performance.now();
await bot.settle(120_000);
console.log('first', (performance.now() - t).toFixed(0), 'ms', (process.memoryUsage().rss / 1e6).toFixed(0), 'MB');
await bot.poller.runOnce();
const s = new Session(); s.connect();
await s.post('Profiler.enable'); await s.post('Profiler.start');
const c0 = process.cpuUsage(); t = performance.now();
await bot.poller.runOnce();
const d = process.cpuUsage(c0);
console.log('steady', (performance.now() - t).toFixed(0), 'ms wall', ((d.user + d.system) / 1000).toFixed(0), 'ms cpu', (process.memoryUsage().rss / 1e6).toFixed(0), 'MB');
const { profile } = await s.post('Profiler.stop');
writeFileSync('/tmp/prof/steady.cpuprofile', JSON.stringify(profile));
// self-time by function
const self = new Map<string, number>();
const nodes = new Map(profile.nodes.map((n: any) => [n.id, n]));
const dt = profile.timeDeltas ?? []; const samples = profile.samples ?? [];
for (let i = 0; i < samples.length; i++) { const n: any = nodes.get(samples[i]); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + (dt[i] ?? 0)); }
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log((v / 1000).toFixed(1).padStart(8), 'ms', k);
console.log(JSON.stringify(process.memoryUsage())); (globalThis as any).gc?.(); console.log('after gc', JSON.stringify(process.memoryUsage()));
await bot.stop(); await cotool.close(); await slack.close();
