/**
 * "Mute detection…" on a card (`alert.mute`) or on a digest group (`digest.mute`), and Unmute
 * (`mute.unmute`, from the mute list of `/cotool mutes` or the App Home). Every click is
 * acknowledged first and its value decoded (one that does not decode: "out of date", logged). The
 * mute modal opens at once with the click's trigger ("Loading…"), then access is checked, the alert
 * (or the digest group) read, and the modal filled with the form — or with why there is none: the
 * alert has no detection, or the detection is muted in that channel already. The submission is
 * handled in ../views/mute.ts.
 */
import type { AllMiddlewareArgs, App, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { routeAlert } from '../../../core/routes.ts';
import { classifySlackError } from '../../../core/slack-errors.ts';
import { detectionOf } from '../../../service/mute.ts';
import { ACTIONS, OPS, VIEWS } from '../../ids.ts';
import {
  accessRefused,
  alreadyMuted,
  cardOutOfDate,
  formNotOpened,
  muteAlreadyEnded,
  newRef,
  nothingToMute,
  nothingToMuteInGroup,
  unexpectedError,
  unmuted,
} from '../../messages.ts';
import { breakThroughIn } from '../../mute-render.ts';
import { decodeDigestMute, decodeMuteRef, type MuteMeta, muteKeyFits, muteName } from '../../payloads.ts';
import { muteList, muteModal } from '../../views/mute.ts';
import { loadingModal, noticeModal } from '../../views/triage-modal.ts';
import type { ListenerDeps } from '../deps.ts';
import { firstDelivery } from '../redelivery.ts';
import { onCardButton } from './card-button.ts';
import { failureText } from './change-answers.ts';
import { surfaceOf } from './surface.ts';

type ClickArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;
type View = Parameters<WebClient['views']['open']>[0]['view'];

const VERB = 'Mute detection';

export function registerMuteActions(app: App, deps: ListenerDeps): void {
  const log = deps.logger.child({ module: 'mute-actions' });
  const { mutes } = deps.useCases;

  /** Opens the modal at once ("Loading…"); the id of the view to fill, or null when Slack refused. */
  async function openLoading(args: ClickArgs, displayId: string | null, tell: (t: string) => Promise<void>) {
    try {
      const opened = await args.client.views.open({
        trigger_id: args.body.trigger_id,
        view: loadingModal(VIEWS.muteModal, VERB, displayId) as View,
      });
      return opened.view?.id ?? null;
    } catch (err) {
      log.warn(
        { userId: args.body.user.id, slackError: classifySlackError(err).code },
        'could not open the mute modal',
      );
      await tell(formNotOpened());
      return null;
    }
  }

  function filler(client: WebClient, viewId: string, userId: string) {
    return async (view: object) => {
      try {
        await client.views.update({ view_id: viewId, view: view as View });
      } catch (err) {
        log.warn({ userId, slackError: classifySlackError(err).code }, 'could not fill in the mute modal');
      }
    };
  }

  /** The form, or a notice when the detection is muted in that channel already. */
  async function form(meta: MuteMeta, displayId: string | null): Promise<object> {
    const now = deps.clock();
    const holding = (await mutes.list()).find(
      (m) => m.channel === meta.channel && m.detectionKey === meta.detectionKey,
    );
    if (holding) {
      return noticeModal(
        VIEWS.muteModal,
        VERB,
        displayId,
        alreadyMuted(holding.detectionName, holding.until, holding.by),
      );
    }
    return muteModal(meta, { now, breakThrough: breakThroughIn(deps.config, meta.channel) });
  }

  // ---- "Mute detection…" on a card
  onCardButton(
    app,
    deps,
    { actionId: ACTIONS.mute, op: OPS.mute, what: 'mute', logger: log },
    async ({ args, userId, surface, value: p }) => {
      const { client } = args;
      const record = await deps.store.get(p.id);
      const displayId = record?.displayId ?? null;
      const viewId = await openLoading(args, displayId, surface.tell);
      if (!viewId) return;
      const show = filler(client, viewId, userId);
      const loaded = await deps.useCases.loadForm({
        alertId: p.id,
        expectedUpdatedAt: p.u,
        userId,
        clicked: surface.clicked,
        what: 'opening the mute form',
      });
      if (!loaded.ok)
        return await show(noticeModal(VIEWS.muteModal, VERB, displayId, failureText(loaded, deps.access.describe())));
      const alert = loaded.alert;
      const detection = detectionOf(alert);
      if (!detection || !muteKeyFits(detection.key))
        return await show(noticeModal(VIEWS.muteModal, VERB, alert.displayId, nothingToMute(alert.displayId)));
      // The channel of the card clicked when cards go there; else where the alert's card goes.
      const clicked = surface.clicked?.channel ?? p.c ?? null;
      const channel =
        clicked && deps.config.channels.includes(clicked)
          ? clicked
          : (routeAlert(alert, deps.config.routes, deps.config.slack.alertChannel).channels[0] ??
            deps.config.slack.alertChannel);
      const meta: MuteMeta = {
        v: 1,
        alertId: alert.id,
        channel,
        detectionKey: detection.key,
        detectionName: muteName(detection.name),
        stormId: null,
      };
      await show(await form(meta, alert.displayId));
    },
  );

  // ---- "Mute detection…" on a digest group
  app.action({ type: 'block_actions', action_id: ACTIONS.digestMute }, async (args: ClickArgs) => {
    const { ack, body, action, client, respond } = args;
    await ack();
    const userId = body.user.id;
    const surface = surfaceOf(body, { client, respond, logger: log });
    try {
      const decoded = decodeDigestMute(action.type === 'button' ? action.value : undefined);
      if (!decoded.ok) {
        log.warn({ userId, reason: decoded.reason }, 'a digest mute button carried a value that does not decode');
        await surface.tell(cardOutOfDate());
        return;
      }
      if (!(await firstDelivery(deps, `interaction:${userId}:${action.action_ts}:${action.action_id}`))) return;
      const viewId = await openLoading(args, null, surface.tell);
      if (!viewId) return;
      const show = filler(client, viewId, userId);
      const decision = await deps.access.check(userId);
      if (!decision.ok) {
        return await show(
          noticeModal(VIEWS.muteModal, VERB, null, accessRefused(decision.reason, deps.access.describe())),
        );
      }
      const target = await mutes.groupTarget(decoded.value.s, decoded.value.g);
      if (!target.ok || !muteKeyFits(target.detectionKey)) {
        const code = target.ok ? 'no_detection' : target.code;
        return await show(noticeModal(VIEWS.muteModal, VERB, null, nothingToMuteInGroup(code)));
      }
      const meta: MuteMeta = {
        v: 1,
        alertId: target.sourceAlertId,
        channel: target.channel,
        detectionKey: target.detectionKey,
        detectionName: muteName(target.detectionName),
        stormId: decoded.value.s,
      };
      await show(await form(meta, null));
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId }, 'the digest mute button failed unexpectedly');
      await surface.tell(unexpectedError(ref));
    }
  });

  // ---- Unmute (the mute list: /cotool mutes, the App Home)
  app.action({ type: 'block_actions', action_id: ACTIONS.unmute }, async (args: ClickArgs) => {
    const { ack, body, action, client, respond } = args;
    await ack();
    const userId = body.user.id;
    const surface = surfaceOf(body, { client, respond, logger: log });
    try {
      const decoded = decodeMuteRef(action.type === 'button' ? action.value : undefined);
      if (!decoded.ok) {
        log.warn({ userId, reason: decoded.reason }, 'an unmute button carried a value that does not decode');
        await surface.tell(cardOutOfDate());
        return;
      }
      if (!(await firstDelivery(deps, `interaction:${userId}:${action.action_ts}:${action.action_id}`))) return;
      const r = await mutes.unmute({ muteId: decoded.value.muteId, userId });
      if (r.ok) await surface.tell(unmuted(r.mute.detectionName));
      else if (r.code === 'denied') await surface.tell(accessRefused(r.reason, deps.access.describe()));
      else if (r.code === 'not_found') await surface.tell(cardOutOfDate());
      else await surface.tell(muteAlreadyEnded(r.mute.detectionName));
      // The list clicked (an ephemeral /cotool mutes answer) is redrawn without it; the App Home too.
      if (surface.kind === 'ephemeral') await surface.show(muteList(await mutes.list(), deps.clock()));
      deps.events.emit('mutes-changed', userId);
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId }, 'the unmute button failed unexpectedly');
      await surface.tell(unexpectedError(ref));
    }
  });
}
