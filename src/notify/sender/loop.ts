/**
 * The sender: drains the persisted outbox into Slack. One loop per channel for new messages
 * (chat.postMessage, paced to SLACK_POST_RATE with a small burst), one for edits (chat.update, paced
 * per workspace), and a few for a click's redraws (the interactive lane: chat.update from the same
 * budget, served at once and side by side — ahead of the edits' backlog; only a 429's pause holds
 * it), each taking the most urgent due item first. What each kind of item does is in its handler file.
 *
 * Exactly once: an outbox row is the claim. A post is confirmed (the row deleted, the card's ts
 * saved) in one transaction, only while this process still holds the claim. When Slack's answer is
 * not a definite refusal — a 5xx, a timeout, a dropped connection — the row keeps `unknown`, and
 * whoever sends it next first looks for the message by its metadata (the card in the channel's
 * history, a notice among the card's replies) and adopts it when found. A 429 pauses the channel
 * for Retry-After; the Web API client's own retries are off, so nothing competes with the pacer.
 *
 * Woken by one signal (`wake`): the store handed to every writer of items calls it (./signal.ts).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { decodeItem, type TypedItem } from '../../core/outbox.ts';
import type { OutboxItem, OutboxLane } from '../../core/records.ts';
import { createPacer, type Pacer } from '../pacer.ts';
import { sendCard, sendCardCopy, sendCardUpdate } from './card.ts';
import { sendCloseRequest, sendCloseRequestUpdate } from './close-request.ts';
import { sendDigest, sendDigestIds, sendDigestUpdate } from './digest.ts';
import { sendEscalation } from './escalation.ts';
import { sendMuteIds, sendMuteMessage, sendMuteUpdate } from './mute.ts';
import { sendQuestionDm, sendQuestionUpdate } from './question.ts';
import { sendReminder } from './reminder.ts';
import { createShared, type Outcome, type SenderDeps, type Shared } from './shared.ts';
import { sendReply, sendThreadNote } from './thread.ts';

export type { SenderDeps, SenderStats } from './shared.ts';

/** How many of a click's redraws may be on their way to Slack at once. */
const INTERACTIVE_WORKERS = 8;

function handle(s: Shared, item: TypedItem, pacer: Pacer): Promise<Outcome> {
  switch (item.kind) {
    case 'reply':
      return sendReply(s, item, pacer);
    case 'card':
      return sendCard(s, item, pacer);
    case 'card_update':
      return sendCardUpdate(s, item, pacer);
    case 'card_copy':
      return sendCardCopy(s, item, pacer);
    case 'escalation':
      return sendEscalation(s, item, pacer);
    case 'digest':
      return sendDigest(s, item, pacer);
    case 'digest_update':
      return sendDigestUpdate(s, item, pacer);
    case 'digest_ids':
      return sendDigestIds(s, item, pacer);
    case 'thread_note':
      return sendThreadNote(s, item, pacer);
    case 'close_request':
      return sendCloseRequest(s, item, pacer);
    case 'close_request_update':
      return sendCloseRequestUpdate(s, item, pacer);
    case 'mute_message':
      return sendMuteMessage(s, item, pacer);
    case 'mute_update':
      return sendMuteUpdate(s, item, pacer);
    case 'mute_ids':
      return sendMuteIds(s, item, pacer);
    case 'question_dm':
      return sendQuestionDm(s, item, pacer);
    case 'question_update':
      return sendQuestionUpdate(s, item, pacer);
    case 'reminder':
      return sendReminder(s, item, pacer);
  }
}

export function createSender(deps: SenderDeps) {
  const s = createShared(deps);
  const { store, health, owner, log, metrics, clock, stats, fences } = s;
  const idleMs = deps.idleMs ?? 1_000;
  let busy = 0;
  let stopping = false;
  const loops = new Map<string, Promise<void>>();
  const pacers = new Map<string, Pacer>();
  let wakers: (() => void)[] = [];
  /** chat.update's budget, shared by the update and the interactive lanes. */
  const updatePacer = createPacer({ ratePerSec: deps.pace.updatesPerMinute / 60, burst: 3 }, clock());
  /** Interactive items claimed and not finished: the update lane waits while there are any. */
  let interactiveInHand = 0;

  const postPacer = (channel: string) => {
    let p = pacers.get(channel);
    if (!p) {
      p = createPacer({ ratePerSec: deps.pace.postRatePerSec, burst: deps.pace.postBurst }, clock());
      pacers.set(channel, p);
    }
    return p;
  };

  /** Waits up to `ms`, or until woken (new work) or stopped. */
  function idle(ms: number): Promise<void> {
    if (stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      t.unref?.();
      function done() {
        clearTimeout(t);
        wakers = wakers.filter((w) => w !== done);
        resolve();
      }
      wakers.push(done);
    });
  }

  /** Wake-ups so far: a loop that was woken while it looked (and found nothing) looks again at once. */
  let wakes = 0;
  function wakeLoops(): void {
    wakes++;
    const w = wakers;
    wakers = [];
    for (const f of w) f();
  }

  /**
   * How long a lane waits before its next write (0: now). The interactive lane waits only for a
   * 429's pause: a click's redraw takes its token from the shared budget even when that leaves it
   * in debt, which the update lane then waits out. The update lane also waits while a click's
   * redraw is in hand (woken when it is done).
   */
  function waitOf(lane: OutboxLane, pacer: Pacer): number {
    const now = clock();
    if (lane === 'interactive') return Math.max(0, pacer.pausedUntil - now);
    if (lane === 'update' && interactiveInHand > 0) return -1;
    return pacer.wait(now);
  }

  /**
   * One turn of a lane: wait for its pacer (`wait` ms, -1: until woken), or claim its most urgent due
   * item and send it ('sent'), or find nothing due ('empty').
   */
  async function step(
    lane: OutboxLane,
    channel: string | undefined,
    pacer: Pacer,
  ): Promise<{ wait: number } | 'sent' | 'empty' | 'failed'> {
    if (!deps.isLeader()) return { wait: -1 };
    const wait = waitOf(lane, pacer);
    if (wait !== 0) return { wait };
    const fence = deps.fence();
    if (!fence) return { wait: -1 };
    let item: OutboxItem | null;
    try {
      item = await store.claimNext({
        lane,
        ...(channel !== undefined ? { channel } : {}),
        owner,
        staleMs: deps.claimStaleMs,
        fence,
      });
    } catch (err) {
      log.error({ err }, 'could not read the outbox; will retry');
      health.storeOk = false;
      return 'failed';
    }
    if (!item) return 'empty';
    fences.set(item, fence);
    busy++;
    if (lane === 'interactive') interactiveInHand++;
    try {
      health.storeOk = true;
      const decoded = decodeItem(item);
      if (decoded.ok) {
        fences.set(decoded.item, fence);
        await handle(s, decoded.item, pacer);
      } else {
        stats.dropped++;
        log.error(
          { key: item.key, kind: item.kind, problem: decoded.error.code, detail: decoded.error.detail },
          'unreadable outbox item; dropping it',
        );
        await s.complete(item);
      }
      return 'sent';
    } catch (err) {
      // A store failure mid-item: the claim stays and goes stale; whoever takes it looks first.
      log.error({ err, key: item.key }, 'sending an outbox item failed unexpectedly');
      await store
        .retryOutbox(item.key, owner, fence, s.backoff(item.attempts), item.lane === 'post')
        .catch(() => undefined);
      return 'failed';
    } finally {
      busy--;
      if (lane === 'interactive' && --interactiveInHand === 0) wakeLoops();
    }
  }

  const pacerOf = (lane: OutboxLane, channel: string | undefined) =>
    lane === 'post' ? postPacer(channel as string) : updatePacer;

  async function loop(lane: OutboxLane, channel: string | undefined): Promise<void> {
    const pacer = pacerOf(lane, channel);
    while (!stopping) {
      const woken = wakes;
      const r = await step(lane, channel, pacer);
      if (r === 'sent') {
        refreshSoon();
      } else if (r === 'empty') {
        refreshSoon();
        if (wakes === woken) await idle(idleMs);
      } else if (r === 'failed') {
        await idle(idleMs);
      } else if (r.wait < 0) {
        await idle(idleMs);
      } else {
        await delay(Math.min(r.wait, 5_000));
      }
    }
  }

  function ensureLoop(lane: OutboxLane, channel?: string, worker = 0) {
    const name = `${lane}:${channel ?? '*'}:${worker}`;
    if (stopping || loops.has(name)) return;
    loops.set(
      name,
      loop(lane, channel).catch((err: unknown) => log.error({ err, loop: name }, 'sender loop crashed')),
    );
  }

  /** Starts loops for channels that have work; reports the depth. */
  const reported = new Set<string>(deps.channels.flatMap((ch) => [`${ch}|post`, `${ch}|update`]));
  let depthAt = 0;
  async function refresh(): Promise<void> {
    depthAt = clock();
    const depth = await store.outboxDepth();
    const seen = new Set<string>();
    for (const d of depth) {
      if (d.lane === 'post') ensureLoop('post', d.channel);
      metrics.outboxDepth.set({ channel: d.channel, lane: d.lane }, d.count);
      seen.add(`${d.channel}|${d.lane}`);
      reported.add(`${d.channel}|${d.lane}`);
    }
    for (const pair of reported) {
      if (seen.has(pair)) continue;
      const [channel = '', lane = 'post'] = pair.split('|');
      metrics.outboxDepth.set({ channel, lane }, 0);
    }
  }
  /**
   * Loops for channels that have work, and the gauges, after new work was signalled: at most every
   * 250 ms (a poll signals page by page), the last signal always followed by a look.
   */
  let signalled: Promise<void> | null = null;
  let signalledAt = Number.NEGATIVE_INFINITY;
  function refreshSignalled(): Promise<void> {
    if (signalled) return signalled;
    const wait = Math.max(0, signalledAt + 250 - performance.now());
    signalled = (async () => {
      if (wait > 0) await delay(wait, undefined, { ref: false });
      signalled = null;
      signalledAt = performance.now();
      await refresh();
    })();
    return signalled;
  }
  /** The depth gauge follows the sending, at most twice a second. */
  function refreshSoon(): void {
    if (clock() - depthAt < 500) return;
    refresh().catch((err: unknown) => log.debug({ err }, 'could not read the outbox depth'));
  }

  return {
    stats,
    /**
     * Resolves true once nothing is due within `horizonMs` or being sent (items waiting for a later
     * retry do not count), false after `timeoutMs`. For tests, benchmarks and a clean shutdown.
     */
    async whenIdle(timeoutMs = 10_000, horizonMs = 250): Promise<boolean> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (busy === 0) {
          const now = clock();
          const items = await store.listOutbox();
          if (!items.some((i) => i.state === 'claimed' || i.notBefore <= now + horizonMs)) {
            // A loop may be between claiming and counting itself busy: look once more.
            await delay(5);
            if (busy === 0) return true;
          }
        }
        await delay(10);
      }
      return false;
    },
    /**
     * Sends, in this call, every item of a lane that is due now (a paced lane stops at its pacer);
     * how many were sent. For tests that play a use-case and its sending step by step.
     */
    async drain(lane: OutboxLane, channel?: string): Promise<number> {
      const pacer = pacerOf(lane, channel);
      let sent = 0;
      while ((await step(lane, channel, pacer)) === 'sent') sent++;
      return sent;
    },
    start(): void {
      for (const ch of deps.channels) ensureLoop('post', ch);
      ensureLoop('update');
      // Clicks come in bursts and each waits for its card: redraws go out side by side (each is a
      // claimed item of its own; a card's redraws coalesce into one item, so never two at once).
      for (let w = 0; w < INTERACTIVE_WORKERS; w++) ensureLoop('interactive', undefined, w);
    },
    /**
     * New work was written: the loops look at once (a click's redraw is not kept waiting for the
     * depth read); then loops are started for channels that have work and the gauges follow.
     */
    async wake(): Promise<void> {
      wakeLoops();
      try {
        await refreshSignalled();
      } catch (err) {
        log.warn({ err }, 'could not read the outbox depth');
      }
      wakeLoops();
    },
    async stop(timeoutMs = 5_000): Promise<void> {
      stopping = true;
      wakeLoops();
      await Promise.race([Promise.all(loops.values()), delay(timeoutMs, undefined, { ref: false })]);
    },
  };
}

export type Sender = ReturnType<typeof createSender>;
