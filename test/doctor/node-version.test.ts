/**
 * On a Node.js older than 24, `npm start` and `npm run doctor` say so in one line instead of an
 * ERR_UNKNOWN_FILE_EXTENSION stack trace, and `npm ci` refuses to install (engine-strict). Run with
 * the machine's own older Node when there is one (CI machines have Node 20 next to the Node 24
 * that runs the tests).
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const ONE_LINE =
  /^cotool-slack needs Node\.js 24 LTS \(found v(\d+)\.\d+\.\d+\): install it from https:\/\/nodejs\.org or use the Docker image\n$/;

/** A `node` older than 24 on this machine: on PATH behind Node 24, or in the usual places. */
function findOldNode(): string | null {
  const candidates = [
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'node')),
    '/usr/bin/node',
    '/usr/local/bin/node',
  ];
  for (const bin of new Set(candidates)) {
    if (!existsSync(bin)) continue;
    try {
      const v = execFileSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 5_000 }).trim();
      if (Number(v.split('.')[0]) < 24) return bin;
    } catch {
      // not runnable: try the next one
    }
  }
  return null;
}

const oldNode = findOldNode();

function run(bin: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const proc = spawn(bin, args, {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += String(d)));
    proc.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    proc.once('error', reject);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the Node.js version check (bin/node-check.mjs)', () => {
  it('knows which versions are too old, in plain JavaScript any Node.js can load', async () => {
    const script = [
      "import { nodeVersionProblem, requireSupportedNode } from './bin/node-check.mjs';",
      'requireSupportedNode();',
      "console.log(JSON.stringify(['24.0.0', '24.21.0', '26.1.0', '22.18.0', '20.20.2', 'x'].map((v) => nodeVersionProblem(v))));",
    ].join('\n');
    const r = await run(process.execPath, ['--input-type=module', '-e', script]);
    expect(r.code).toBe(0);
    const problems = JSON.parse(r.stdout) as (string | null)[];
    expect(problems.slice(0, 3)).toEqual([null, null, null]);
    expect(`${problems[3]}\n`).toMatch(ONE_LINE);
    expect(problems[4]).toBe(
      'cotool-slack needs Node.js 24 LTS (found v20.20.2): install it from https://nodejs.org or use the Docker image',
    );
    expect(problems[5]).toMatch(/^cotool-slack needs Node\.js 24 LTS \(found vx\)/);
  });
});

describe.skipIf(oldNode === null)(`on this machine's older Node.js (${oldNode ?? 'none found'})`, () => {
  const old = oldNode ?? '';

  it.each(['bin/start.mjs', 'bin/doctor.mjs'])(
    'node %s: exit 1 and one line, before any .ts is loaded',
    async (entry) => {
      const r = await run(old, [join(ROOT, entry)]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(ONE_LINE);
      expect(Number(ONE_LINE.exec(r.stderr)?.[1])).toBeLessThan(24);
    },
  );

  it('npm start: the line is there, no stack trace', async () => {
    const npm = join(dirname(old), 'npm');
    if (!existsSync(npm)) return;
    const r = await run(npm, ['start', '--silent'], { env: { PATH: `${dirname(old)}${delimiter}/usr/bin:/bin` } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cotool-slack needs Node\.js 24 LTS \(found v\d+\.\d+\.\d+\): install it/m);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION|at .*\(node:internal/);
  });

  it('npm ci refuses to install anything (engine-strict), naming the Node.js it needs', async () => {
    const npm = join(dirname(old), 'npm');
    if (!existsSync(npm)) return;
    const dir = mkdtempSync(join(tmpdir(), 'cotool-slack-old-node-'));
    try {
      for (const f of ['package.json', 'package-lock.json', '.npmrc']) copyFileSync(join(ROOT, f), join(dir, f));
      const r = await run(npm, ['ci', '--no-audit', '--no-fund', '--offline'], {
        cwd: dir,
        env: { PATH: `${dirname(old)}${delimiter}/usr/bin:/bin`, HOME: dir },
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/EBADENGINE/);
      expect(r.stderr).toMatch(/Required: \{"node":">=24/);
      expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
