/**
 * The doctor's checklist: what one check found, and the report printed from all of them. Pure.
 *
 * Every line is `✔`, `✘` or `!` (a warning that does not fail the run), the check's name, what
 * was found, and for a failure `→ fix: …`. A last filter removes every secret the doctor knows of
 * from the text, whatever a server echoed back.
 */

export type CheckStatus = 'ok' | 'fail' | 'warn';

export type CheckResult = {
  status: CheckStatus;
  /** Short, e.g. `Slack bot token`, `channel C0123ABCD`. */
  name: string;
  /** What was found, one line. */
  detail: string;
  /** What to do about a failure (or a warning), one line. */
  fix?: string;
};

export const ok = (name: string, detail: string): CheckResult => ({ status: 'ok', name, detail });
export const fail = (name: string, detail: string, fix: string): CheckResult => ({ status: 'fail', name, detail, fix });
export const warn = (name: string, detail: string, fix?: string): CheckResult => ({
  status: 'warn',
  name,
  detail,
  ...(fix ? { fix } : {}),
});

const MARK: Record<CheckStatus, string> = { ok: '✔', fail: '✘', warn: '!' };

/** Secrets shorter than this are not searched for (they would match ordinary words). */
const MIN_SECRET_LENGTH = 4;

/** `text` with every occurrence of every secret replaced by `[redacted]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  const sorted = [...new Set(secrets)].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  for (const s of sorted) out = out.split(s).join('[redacted]');
  return out;
}

/** Collapses whitespace and control characters, so that a check is always one line. */
function flat(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  return text.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
}

export function formatLine(r: CheckResult, nameWidth = 0): string {
  const fix = r.fix && r.status !== 'ok' ? ` → fix: ${flat(r.fix)}` : '';
  return `${MARK[r.status]} ${flat(r.name).padEnd(nameWidth)}  ${flat(r.detail)}${fix}`;
}

export function summarize(results: readonly CheckResult[]): string {
  const failed = results.filter((r) => r.status === 'fail').length;
  const warned = results.filter((r) => r.status === 'warn').length;
  const warnings = warned === 0 ? '' : ` (${warned} warning${warned === 1 ? '' : 's'})`;
  if (failed === 0) return `All ${results.length} checks passed${warnings}.`;
  return `${failed} of ${results.length} checks failed${warnings}: fix them and run npm run doctor again.`;
}

/** The whole report: a line per check, then the summary; secrets removed. */
export function formatReport(results: readonly CheckResult[], secrets: readonly string[]): string {
  const width = Math.min(24, Math.max(0, ...results.map((r) => flat(r.name).length)));
  const lines = results.map((r) => formatLine(r, width));
  return redact(`${lines.join('\n')}\n\n${summarize(results)}\n`, secrets);
}

export function exitCode(results: readonly CheckResult[]): 0 | 1 {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
