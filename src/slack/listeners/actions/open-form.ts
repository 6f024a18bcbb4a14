/**
 * Opening the reason, edit, note and disagree modals from a card. The modal is opened at once with the
 * click's trigger_id (it expires after 3 s) showing "Loading COT-1…"; access is checked and the alert
 * read only then, and the modal updated in place with the form — or with why there is none.
 */
import type { WebClient } from '@slack/web-api';
import { isClosed, isLive } from '../../../core/alert.ts';
import { classifySlackError } from '../../../core/slack-errors.ts';
import { latestVerdict } from '../../../core/verdict.ts';
import type { Logger } from '../../../log.ts';
import { type Place, whoSet } from '../../../service/card-sync.ts';
import { VIEWS } from '../../ids.ts';
import { alreadyClosed, formNotOpened, statusName } from '../../messages.ts';
import type { ActionPayload, Disposition, ModalMeta } from '../../payloads.ts';
import { CLOSE_VERB, renderCloseModal } from '../../views/close-modal.ts';
import { EDIT_VERB, renderEditModal } from '../../views/edit-modal.ts';
import { DISAGREE_VERB, NOTE_VERB, renderNoteModal } from '../../views/note-modal.ts';
import { loadingModal, noticeModal } from '../../views/triage-modal.ts';
import type { ListenerDeps } from '../deps.ts';
import { failureText } from './change-answers.ts';
import type { Surface } from './surface.ts';

type View = Parameters<WebClient['views']['open']>[0]['view'];

type Loaded = Extract<Awaited<ReturnType<ListenerDeps['useCases']['loadForm']>>, { ok: true }>;
const FORMS = {
  close: {
    callbackId: VIEWS.closeModal,
    verb: CLOSE_VERB,
    render: (l: Loaded, m: ModalMeta) => renderCloseModal(l.alert, m),
  },
  edit: {
    callbackId: VIEWS.editModal,
    verb: EDIT_VERB,
    render: (l: Loaded, m: ModalMeta) => renderEditModal(l.alert, m),
  },
  note: {
    callbackId: VIEWS.noteModal,
    verb: NOTE_VERB,
    render: (l: Loaded, m: ModalMeta) => renderNoteModal('note', l.alert, m, { verdict: latestVerdict(l.timeline) }),
  },
  disagree: {
    callbackId: VIEWS.disagreeModal,
    verb: DISAGREE_VERB,
    render: (l: Loaded, m: ModalMeta) =>
      renderNoteModal('disagree', l.alert, m, { verdict: latestVerdict(l.timeline) }),
  },
};
export type FormKind = keyof typeof FORMS;

export async function openForm(
  kind: FormKind,
  p: ActionPayload,
  ctx: {
    deps: Pick<ListenerDeps, 'useCases' | 'access' | 'store'>;
    client: WebClient;
    triggerId: string;
    userId: string;
    surface: Surface;
    logger: Logger;
    disposition?: Disposition;
  },
): Promise<void> {
  const { deps, client, userId, surface, logger } = ctx;
  const { callbackId, verb } = FORMS[kind];
  const record = await deps.store.get(p.id);
  let displayId = record?.displayId ?? null;

  let viewId: string | undefined;
  let hash: string | undefined;
  try {
    const opened = await client.views.open({
      trigger_id: ctx.triggerId,
      view: loadingModal(callbackId, verb, displayId) as View,
    });
    viewId = opened.view?.id;
    hash = opened.view?.hash;
  } catch (err) {
    const f = classifySlackError(err);
    logger.warn({ userId, alertId: p.id, slackError: f.code }, 'could not open the modal');
    await surface.tell(formNotOpened());
    return;
  }
  if (!viewId) return;

  const show = async (view: object): Promise<void> => {
    try {
      await client.views.update({ view_id: viewId, ...(hash ? { hash } : {}), view: view as View });
    } catch (err) {
      // Closed by the user meanwhile, or Slack refused the view: either way there is no form to show.
      const f = classifySlackError(err);
      logger.warn({ userId, alertId: p.id, slackError: f.code }, 'could not fill in the modal');
    }
  };

  const loaded = await deps.useCases.loadForm({
    alertId: p.id,
    expectedUpdatedAt: p.u,
    userId,
    clicked: surface.clicked,
    what: `opening the ${kind} form`,
  });
  if (!loaded.ok) {
    if (loaded.code === 'denied')
      logger.info({ userId, alertId: p.id, reason: loaded.reason }, `refused to open the ${kind} form`);
    return show(noticeModal(callbackId, verb, displayId, failureText(loaded, deps.access.describe())));
  }
  const { alert } = loaded;
  displayId = alert.displayId;
  if (kind === 'close' && !isLive(alert.status)) {
    const text = isClosed(alert.status)
      ? alreadyClosed(alert.displayId, alert.status, whoSet(alert.status, loaded.record, loaded.timeline))
      : `:information_source: This alert's status (${statusName(alert.status)}) is not one Slack can change. Use Cotool.`;
    return show(noticeModal(callbackId, verb, displayId, text));
  }
  const place: Place | null =
    surface.clicked ??
    (loaded.record?.state === 'posted' && loaded.record.channel && loaded.record.ts
      ? { channel: loaded.record.channel, ts: loaded.record.ts }
      : null);
  const meta: ModalMeta = {
    v: 1,
    id: alert.id,
    u: alert.updatedAt,
    ...(place ? { c: place.channel, t: place.ts } : {}),
    ...(ctx.disposition ? { d: ctx.disposition } : {}),
  };
  await show(FORMS[kind].render(loaded, meta));
}
