/**
 * The doctor's Cotool checks: the API answers with the key (one alert listed), and the key may
 * change alerts — probed without changing any: a status change and an edit are asked for an alert
 * id that does not exist. 404 means the key was let through (nothing to change); 403 names the
 * permissions it lacks.
 */
import type { CotoolClient } from '../cotool/client.ts';
import { classifyCotoolError, isCotoolError } from '../cotool/errors.ts';
import { type CheckResult, fail, ok, warn } from './checklist.ts';

/** An alert id no alert has: the nil UUID. */
export const PROBE_ALERT_ID = '00000000-0000-0000-0000-000000000000';
const KEY_FIX =
  'create an API key in Cotool (Settings → API keys) for a user who may triage alerts, and set COTOOL_API_KEY to it';

/** `what` the key may do, and what in Slack breaks without it. */
type Probe = { what: string; breaks: string; run: () => Promise<unknown> };

export type CotoolCheckPort = Pick<CotoolClient, 'listAlerts' | 'updateStatus' | 'updateDetails'>;

/** Why a Cotool call failed, as detail + fix; `auth` when it is the key's fault. */
function explain(err: unknown, apiUrl: string): { detail: string; fix: string; auth: boolean } {
  if (!isCotoolError(err)) {
    return {
      detail: `failed: ${err instanceof Error ? err.message : String(err)}`,
      fix: 'run the doctor again',
      auth: false,
    };
  }
  switch (classifyCotoolError(err)) {
    case 'network':
      return {
        detail: `could not reach ${apiUrl}${err.code ? ` (${err.code})` : ''}`,
        fix: 'check COTOOL_API_URL (e.g. https://app.cotool.ai), the network and any proxy',
        auth: false,
      };
    case 'timeout':
      return {
        detail: `${apiUrl} did not answer in time`,
        fix: 'check the network; raise COTOOL_TIMEOUT_MS if Cotool is slow from here',
        auth: false,
      };
    case 'schema':
      return {
        detail: `${apiUrl} answered, but not like the Cotool API`,
        fix: 'COTOOL_API_URL must be the Cotool API base URL, e.g. https://app.cotool.ai (no path)',
        auth: false,
      };
    case 'unauthorized':
      return { detail: 'Cotool rejected COTOOL_API_KEY (401)', fix: KEY_FIX, auth: true };
    case 'forbidden': {
      const missing = err.missingPerms?.length ? err.missingPerms.join(', ') : 'a permission it did not name';
      return {
        detail: `the key lacks ${missing} (403)`,
        fix: `ask a Cotool admin to grant ${missing} to the API key's user, or use a key of a user who has it`,
        auth: true,
      };
    }
    case 'not_found':
      return {
        detail: `no Cotool API at ${apiUrl} (${err.status} on ${err.path})`,
        fix: 'COTOOL_API_URL must be the Cotool API base URL, e.g. https://app.cotool.ai (no path)',
        auth: false,
      };
    default:
      return {
        detail: `Cotool answered HTTP ${err.status}${err.apiMessage ? `: ${err.apiMessage}` : ''}`,
        fix: 'run the doctor again in a moment; if it persists, check Cotool’s status',
        auth: false,
      };
  }
}

export async function checkCotool(cotool: CotoolCheckPort, apiUrl: string): Promise<CheckResult[]> {
  let total: number;
  try {
    total = (await cotool.listAlerts({ limit: 1 })).totalCount;
  } catch (err) {
    const e = explain(err, apiUrl);
    return [fail('Cotool API', e.detail, e.fix)];
  }
  const results: CheckResult[] = [ok('Cotool API', `${apiUrl} answers; the key can list alerts (${total} in total)`)];

  const probes: Probe[] = [
    {
      what: 'change alert status',
      breaks: 'the triage buttons',
      run: () => cotool.updateStatus(PROBE_ALERT_ID, 'open'),
    },
    {
      what: 'edit alerts',
      breaks: 'Edit title & description',
      run: () => cotool.updateDetails(PROBE_ALERT_ID, { title: 'cotool-slack doctor probe' }),
    },
  ];
  const allowed: string[] = [];
  const denied: Probe[] = [];
  const missing = new Set<string>();
  const unclear: string[] = [];
  for (const probe of probes) {
    try {
      await probe.run();
      // Cotool changed an alert with the nil UUID: there is nothing sensible to say but that.
      unclear.push(`${probe.what}: Cotool accepted a change to alert ${PROBE_ALERT_ID}`);
    } catch (err) {
      const kind = isCotoolError(err) ? classifyCotoolError(err) : null;
      if (kind === 'not_found') {
        allowed.push(probe.what);
      } else if (isCotoolError(err) && kind === 'forbidden') {
        denied.push(probe);
        for (const p of err.missingPerms ?? []) missing.add(p);
      } else {
        unclear.push(`${probe.what}: ${explain(err, apiUrl).detail}`);
      }
    }
  }
  const name = 'Cotool permissions';
  if (denied.length > 0) {
    const perms = missing.size > 0 ? [...missing].join(', ') : 'a permission Cotool did not name';
    results.push(
      fail(
        name,
        `the key may not ${denied.map((p) => p.what).join(' or ')}: it lacks ${perms} (403); ${denied.map((p) => p.breaks).join(' and ')} will fail in Slack`,
        `ask a Cotool admin to grant ${perms} to the API key's user, or use a key of a user who has it`,
      ),
    );
  } else if (unclear.length > 0) {
    results.push(warn(name, `could not tell: ${unclear.join('; ')}`, 'run the doctor again'));
  } else {
    results.push(
      ok(
        name,
        `the key may ${allowed.join(' and ')} (asked for alert ${PROBE_ALERT_ID}, which does not exist: nothing changed)`,
      ),
    );
  }
  return results;
}
