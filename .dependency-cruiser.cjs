/**
 * The house: which folder of src/ may import which (npm run lint checks it, and so does CI).
 *
 *   log.ts                logging: nothing of ours
 *   core/                 the pure domain: nothing but core/
 *   ports.ts              the narrow interfaces to Slack, Cotool, the store, the renderer: core/
 *   config.ts             the environment, parsed (pure): core/
 *   load-config.ts        the environment and the files it names, read: config, core/
 *   schedule.ts           node-cron, through the log: log
 *   telemetry/            metrics and health state: core/, log
 *   cotool/  store/       the edges to Cotool and to the database: core/, ports, config, log, telemetry/
 *   service/  notify/     the use-cases, and the poller/sender: core/, ports, config, log, schedule,
 *                         telemetry/, and cotool/errors.ts (the one reading of Cotool's failures) — never
 *                         each other, never an edge otherwise: they reach Slack, Cotool and the store
 *                         through ports
 *   slack/                Bolt, views and listeners: what service/ may, and service/ (listeners call use-cases)
 *   doctor/               the checks: anything but bot.ts and main.ts
 *   bot.ts, main.ts       the composition root: everything
 */
const layer = (name, from, allowed) => ({
  name: `${name}-imports-only-below`,
  severity: 'error',
  comment: `${name} may import only ${allowed.join(', ')} (see the table at the top of .dependency-cruiser.cjs)`,
  from: { path: from },
  to: { path: '^src/', pathNot: [from, ...allowed.map((a) => `^src/${a.replace(/\/$/, '/')}`)] },
});

const CORE = ['core/'];
const BASE = ['core/', 'ports\\.ts$', 'config\\.ts$', 'log\\.ts$', 'telemetry/'];
const APP = [...BASE, 'schedule\\.ts$', 'cotool/errors\\.ts$'];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'modules that import each other, directly or through others',
      from: { path: '^src/' },
      to: { circular: true },
    },
    layer('core', '^src/core/', []),
    layer('log', '^src/log\\.ts$', []),
    layer('schedule', '^src/schedule\\.ts$', ['log\\.ts$']),
    layer('ports', '^src/ports\\.ts$', CORE),
    layer('config', '^src/config\\.ts$', CORE),
    layer('load-config', '^src/load-config\\.ts$', ['config\\.ts$', 'core/']),
    layer('telemetry', '^src/telemetry/', ['core/', 'log\\.ts$']),
    layer('cotool', '^src/cotool/', BASE),
    layer('store', '^src/store/', BASE),
    layer('service', '^src/service/', APP),
    layer('notify', '^src/notify/', APP),
    layer('slack', '^src/slack/', [...APP, 'service/']),
    layer('doctor', '^src/doctor/', [...APP, 'load-config\\.ts$', 'service/', 'slack/', 'cotool/', 'store/', 'notify/']),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    includeOnly: '^src/',
  },
};
