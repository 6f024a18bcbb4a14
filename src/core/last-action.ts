/**
 * What a card may still say about the last change made from Slack. A status change is credited
 * ("Closed as false positive by Jane") only while the alert still has that status: once the status
 * moves on in Cotool, the credit belongs to someone else.
 */
import type { LastAction } from './records.ts';

export function currentLastAction(alertStatus: string, action: LastAction | null | undefined): LastAction | null {
  if (!action) return null;
  if (action.kind === 'status' && action.status !== alertStatus) return null;
  return action;
}

/** The alert is escalated because someone escalated it from Slack (the thread already says so). */
export function escalatedFromSlack(alertStatus: string, action: LastAction | null | undefined): boolean {
  return alertStatus === 'escalated' && action?.kind === 'status' && action.status === 'escalated';
}
