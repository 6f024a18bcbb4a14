/**
 * What every look-up listener shares: the error boundary (an unexpected exception becomes a short
 * reference shown to the user and logged with the error — never silence), the mapping of a
 * use-case's failure to what the user reads, and the way to tell someone something privately.
 */
import type { RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { classifySlackError } from '../../../core/slack-errors.ts';
import type { Logger } from '../../../log.ts';
import type { LookupFailure } from '../../../service/lookup.ts';
import { accessRefused, cotoolFailed, newRef, unexpectedError } from '../../messages.ts';
import type { CardView } from '../../views/alert-card.ts';
import { notFoundAnswer, textAnswer } from '../../views/lookup.ts';

/**
 * Runs `work`; an exception is logged with a fresh reference and `tell` shows the user that
 * reference. A failure to tell is logged too. Never throws.
 */
export async function guarded(
  log: Logger,
  fields: Record<string, unknown>,
  work: () => Promise<void>,
  tell: (text: string) => Promise<unknown>,
): Promise<void> {
  try {
    await work();
  } catch (err) {
    const ref = newRef();
    log.error({ err, ref, ...fields }, 'unexpected error in a look-up listener');
    try {
      await tell(unexpectedError(ref));
    } catch (tellErr) {
      log.warn(
        { ref, reason: tellErr instanceof Error ? tellErr.message : String(tellErr) },
        'could not show the error reference',
      );
    }
  }
}

/** The user's answer for a failed look-up; a Cotool failure is logged with the reference shown. */
export function failureView(
  failure: LookupFailure,
  ctx: { who: string; alertRef?: string | null; log: Logger; fields?: Record<string, unknown> },
): CardView {
  switch (failure.code) {
    case 'forbidden':
      return textAnswer(accessRefused(failure.reason, ctx.who));
    case 'not_found':
      return ctx.alertRef ? notFoundAnswer(ctx.alertRef) : textAnswer(':grey_question: That was not found in Cotool.');
    case 'upstream_error': {
      const ref = newRef();
      ctx.log.warn({ err: failure.error.toLog(), ref, ...ctx.fields }, 'Cotool call failed during a look-up');
      return textAnswer(cotoolFailed(failure.error, ref, ctx.alertRef ? { alertRef: ctx.alertRef } : {}));
    }
  }
}

/**
 * An ephemeral note to the person who clicked or typed: through the response URL when there is one,
 * else chat.postEphemeral in the channel. Throws only when neither worked (the boundary logs it).
 */
export async function tellPrivately(
  target: { respond?: RespondFn | undefined; client: WebClient; channel: string | undefined; user: string },
  text: string,
  log: Logger,
): Promise<void> {
  if (target.respond) {
    try {
      await target.respond({ response_type: 'ephemeral', replace_original: false, text });
      return;
    } catch (err) {
      log.info(
        { reason: err instanceof Error ? err.message : String(err) },
        'response URL refused a note; posting it ephemerally',
      );
    }
  }
  if (!target.channel) throw new Error('no response URL and no channel to answer in');
  try {
    await target.client.chat.postEphemeral({ channel: target.channel, user: target.user, text });
  } catch (err) {
    const f = classifySlackError(err, target.channel);
    throw new Error(`Slack refused the ephemeral note: ${f.code}`);
  }
}
