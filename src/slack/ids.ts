/**
 * The one vocabulary of Slack ids: views render them, listeners register on them. Stable and
 * namespaced — changing a value strands the buttons on every card already posted.
 */
import { OP_STATUS as STATUS_OF_OP } from '../core/verdict.ts';
import type { KnownAlertStatus } from '../cotool/schemas.ts';

/** `action_id`s of card elements. */
export const ACTIONS = {
  closeFp: 'alert.close_fp',
  closeBenign: 'alert.close_benign',
  closeTp: 'alert.close_tp',
  escalate: 'alert.escalate',
  reopen: 'alert.reopen',
  /** Overflow menu; each option's value carries its op. */
  more: 'alert.more',
  openLink: 'alert.open_link',
  externalLink: 'alert.external_link',
  share: 'alert.share',
  /** Opens the note modal; its text goes to Cotool as a comment naming the user. */
  addNote: 'alert.add_note',
  /** Opens the disagreement modal (feedback on the triage agent's verdict). */
  disagree: 'alert.disagree',
  /** The next moves (issue 14): own the alert, ask the person it names, mute its detection, open a war room. */
  take: 'alert.take',
  askUser: 'alert.ask_user',
  mute: 'alert.mute',
  warRoom: 'alert.war_room',
  /** The asked person's buttons in the question DM (the value carries the question id). */
  answerYes: 'question.yes',
  answerNo: 'question.no',
  /** On each mute of the mute list (/cotool mutes, App Home); the value carries the mute id. */
  unmute: 'mute.unmute',
  /** "Mute detection…" on a digest group; the value carries the storm and group. */
  digestMute: 'digest.mute',
} as const;
export type ActionId = (typeof ACTIONS)[keyof typeof ACTIONS];

/** Modal `callback_id`s. */
export const VIEWS = {
  closeModal: 'alert.close_modal',
  editModal: 'alert.edit_modal',
  noteModal: 'alert.note_modal',
  disagreeModal: 'alert.disagree_modal',
  askUserModal: 'alert.ask_user_modal',
  answerModal: 'question.answer_modal',
  muteModal: 'alert.mute_modal',
} as const;
export type ViewId = (typeof VIEWS)[keyof typeof VIEWS];

/** `block_id`s: card blocks, and the modal inputs whose values are read back on submit. */
export const BLOCKS = {
  cardHeader: 'alert.card.header',
  cardStatus: 'alert.card.status',
  cardFields: 'alert.card.fields',
  cardDescription: 'alert.card.description',
  cardActions: 'alert.card.actions',
  cardLinks: 'alert.card.links',
  cardFooter: 'alert.card.footer',
  reply: 'alert.reply',
  replyContext: 'alert.reply.context',
  closeDisposition: 'alert.close_modal.disposition',
  closeReason: 'alert.close_modal.reason',
  editTitle: 'alert.edit_modal.title',
  editDescription: 'alert.edit_modal.description',
  /** The triage agent's latest verdict on the card. */
  cardVerdict: 'alert.card.verdict',
  noteText: 'alert.note_modal.text',
  noteSummary: 'alert.note_modal.summary',
  /** The card's next-move buttons and its owner / waiting line. */
  cardMoves: 'alert.card.moves',
  cardOwner: 'alert.card.owner',
  askUserSummary: 'alert.ask_user_modal.summary',
  askUserFound: 'alert.ask_user_modal.found',
  askUserPerson: 'alert.ask_user_modal.person',
  askUserMessage: 'alert.ask_user_modal.message',
  answerSummary: 'question.answer_modal.summary',
  answerNote: 'question.answer_modal.note',
  muteSummary: 'alert.mute_modal.summary',
  muteDuration: 'alert.mute_modal.duration',
  muteUntil: 'alert.mute_modal.until',
  muteReason: 'alert.mute_modal.reason',
} as const;
export type BlockId = (typeof BLOCKS)[keyof typeof BLOCKS];

/** `action_id`s of the inputs inside the modal blocks above. */
export const INPUTS = {
  closeDisposition: 'alert.close_modal.disposition_input',
  closeReason: 'alert.close_modal.reason_input',
  editTitle: 'alert.edit_modal.title_input',
  editDescription: 'alert.edit_modal.description_input',
  noteText: 'alert.note_modal.text_input',
  askUserPerson: 'alert.ask_user_modal.person_input',
  askUserMessage: 'alert.ask_user_modal.message_input',
  answerNote: 'question.answer_modal.note_input',
  muteDuration: 'alert.mute_modal.duration_input',
  muteUntil: 'alert.mute_modal.until_input',
  muteReason: 'alert.mute_modal.reason_input',
} as const;

/** What a click asks for; carried in every button / overflow option value. */
export const OPS = {
  closeFp: 'close_fp',
  closeBenign: 'close_benign',
  closeTp: 'close_tp',
  escalate: 'escalate',
  reopen: 'reopen',
  inProgress: 'in_progress',
  closeReason: 'close_reason',
  edit: 'edit',
  share: 'share',
  note: 'note',
  disagree: 'disagree',
  take: 'take',
  askUser: 'ask_user',
  mute: 'mute',
  warRoom: 'war_room',
} as const;
export type CardOp = (typeof OPS)[keyof typeof OPS];
export const CARD_OPS = Object.values(OPS) as [CardOp, ...CardOp[]];

/** The status each one-click op sets in Cotool (the others open a modal or post a message). */
export const OP_STATUS = STATUS_OF_OP satisfies Partial<Record<CardOp, KnownAlertStatus>>;

/**
 * Look-ups (/cotool answers, list pages, App Home). List rows carry `lookup.view.<row>` so each
 * row's button has an action_id of its own; listeners match the prefix.
 */
export const LOOKUP_ACTIONS = {
  viewPrefix: 'lookup.view.',
  more: 'lookup.more',
  homeRefresh: 'home.refresh',
} as const;

/** `block_id`s of look-up surfaces (the lookup answer, list pages, unfurls, App Home). */
export const LOOKUP_BLOCKS = {
  notice: 'lookup.notice',
  description: 'lookup.description',
  timelineHeading: 'lookup.timeline',
  /** Prefix: one context block per timeline entry, `lookup.timeline.<n>`. */
  timelineEntry: 'lookup.timeline.',
  actions: 'lookup.actions',
  sharedBy: 'lookup.shared_by',
  listHeader: 'lookup.list.header',
  /** Prefix: `lookup.list.row.<n>`. */
  listRow: 'lookup.list.row.',
  listMore: 'lookup.list.more',
  listFooter: 'lookup.list.footer',
  help: 'lookup.help',
  helpContext: 'lookup.help.context',
  compact: 'lookup.compact',
  compactContext: 'lookup.compact.context',
  homeHeader: 'home.header',
  homeIntro: 'home.intro',
  homeStatus: 'home.counts.status',
  homeSeverity: 'home.counts.severity',
  homeEscalated: 'home.escalated',
  homeEscalatedMore: 'home.escalated.more',
  homeHealthHeading: 'home.health',
  homeHealth: 'home.health.fields',
  homeHealthError: 'home.health.error',
  homeError: 'home.error',
  homeActions: 'home.actions',
  homeRefused: 'home.refused',
  /** The "Muted detections" section (rows use NEXT_BLOCKS.muteListRow with a `home.` prefix). */
  homeMutes: 'home.mutes',
} as const;

/** The storm digest: its buttons, the alert list they open, and the close-all modal. */
export const DIGEST_ACTIONS = {
  showAlerts: 'digest.show_alerts',
  closeAll: 'digest.close_all',
  /** The alert list's paging buttons (the page travels in the value). */
  pagePrev: 'digest.page_prev',
  pageNext: 'digest.page_next',
} as const;

export const DIGEST_VIEWS = {
  closeAll: 'digest.close_all_modal',
} as const;

/** `block_id`s of the digest (per-group blocks add the group's index), its list and its modal. */
export const DIGEST_BLOCKS = {
  header: 'digest.header',
  summary: 'digest.summary',
  /** Prefix: `digest.group.<n>`, `digest.group.<n>.tally`, `digest.group.<n>.actions`. */
  group: 'digest.group.',
  other: 'digest.other',
  /** Prefix: `digest.ids.<n>`, the sections of an id-list reply in the digest's thread. */
  ids: 'digest.ids.',
  listHeader: 'digest.list.header',
  /** Prefix: `digest.list.row.<n>`. */
  listRow: 'digest.list.row.',
  listNav: 'digest.list.nav',
  listFooter: 'digest.list.footer',
  closeSummary: 'digest.close_all_modal.summary',
  closeReason: 'digest.close_all_modal.reason',
} as const;

export const DIGEST_INPUTS = {
  closeReason: 'digest.close_all_modal.reason_input',
} as const;

/** Four eyes: the Approve / Reject buttons of a close request in the card's thread. */
export const FOUR_EYES_ACTIONS = {
  approve: 'alert.four_eyes.approve',
  reject: 'alert.four_eyes.reject',
} as const;

/**
 * The next moves' messages: the question DM, the thread notes (asked, answered, taken, reminders,
 * war room) and the mute messages and list. Per-row blocks of the mute list add the row's index.
 */
export const NEXT_BLOCKS = {
  dmHead: 'question.head',
  dmFacts: 'question.facts',
  dmDescription: 'question.description',
  dmContext: 'question.context',
  dmActions: 'question.actions',
  dmOutcome: 'question.outcome',
  note: 'next.note',
  noteContext: 'next.note.context',
  muteAnnouncement: 'mute.announcement',
  muteReason: 'mute.reason',
  muteContext: 'mute.context',
  muted: 'mute.muted',
  /** Prefix: `mute.ids.<n>`, the sections of a muted-id list in the muted message's thread. */
  muteIds: 'mute.ids.',
  muteEnded: 'mute.ended',
  muteListHeader: 'mute.list.header',
  /** Prefix: `mute.list.row.<n>`. */
  muteListRow: 'mute.list.row.',
  muteListEmpty: 'mute.list.empty',
  muteListMore: 'mute.list.more',
} as const;

export const FOUR_EYES_BLOCKS = {
  request: 'alert.four_eyes.request',
  words: 'alert.four_eyes.words',
  context: 'alert.four_eyes.context',
  actions: 'alert.four_eyes.actions',
} as const;

/** The noise report (`/cotool stats`, and its scheduled post). */
export const STATS_BLOCKS = {
  header: 'stats.header',
  summary: 'stats.summary',
  /** Prefix: `stats.row.<n>`. */
  row: 'stats.row.',
  more: 'stats.more',
  footer: 'stats.footer',
} as const;
