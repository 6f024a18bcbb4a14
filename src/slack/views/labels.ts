/**
 * Words and marks for statuses and severities: one set for the alert card, the look-up views, App
 * Home and the messages. Unknown values from a newer server are shown as sent, escaped.
 */
import {
  isClosed,
  isKnownStatus,
  type KnownAlertStatus,
  type KnownSeverity,
  SEVERITIES,
} from '../../cotool/schemas.ts';
import { mrkdwn, oneLine } from '../text.ts';

export const STATUS_LABEL: Record<KnownAlertStatus, string> = {
  open: 'Open',
  in_progress: 'In progress',
  escalated: 'Escalated',
  closed_true_positive: 'Closed · True positive',
  closed_false_positive: 'Closed · False positive',
  closed_true_positive_benign: 'Closed · Benign',
};

/** How a closed alert was closed, as in "Closed as false positive": from the one status table. */
export { CLOSED_AS, type ClosedStatus } from '../../core/verdict.ts';

export const SEVERITY_LABEL: Record<KnownSeverity, string> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
};

export const SEVERITY_MARK: Record<KnownSeverity, string> = {
  critical: ':red_circle:',
  high: ':large_orange_circle:',
  medium: ':large_yellow_circle:',
  low: ':large_blue_circle:',
};

/** The mark of an alert without a (known) severity. */
export const NO_SEVERITY_MARK = ':white_circle:';
export const CLOSED_MARK = ':white_check_mark:';

export const isKnownSeverity = (s: string): s is KnownSeverity => (SEVERITIES as readonly string[]).includes(s);

/** Mrkdwn label of a status (escaped when unknown). */
export function statusText(status: string | null | undefined): string {
  const s = oneLine(status ?? '');
  if (!s) return 'Unknown';
  return isKnownStatus(s) ? STATUS_LABEL[s] : mrkdwn(s, 40);
}

/** Mrkdwn label of a severity (escaped when unknown). */
export function severityText(severity: string | null | undefined): string {
  const s = oneLine(severity ?? '');
  if (!s) return 'No severity';
  return isKnownSeverity(s) ? SEVERITY_LABEL[s] : mrkdwn(s, 40);
}

/** The emoji leading an alert's line: a check mark once closed, else its severity's colour. */
export function alertMark(alert: { status: string; severity: string | null }): string {
  if (isClosed(alert.status)) return CLOSED_MARK;
  return alert.severity && isKnownSeverity(alert.severity) ? SEVERITY_MARK[alert.severity] : NO_SEVERITY_MARK;
}
