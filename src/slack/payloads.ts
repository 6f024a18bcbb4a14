/**
 * The state that travels with a card's buttons and modals: identifiers only, versioned, checked on
 * the way back. Everything else is re-read from Cotool when the click arrives; `u` (the alert's
 * updatedAt when the card was rendered) lets the listener spot a click on an out-of-date card.
 *
 * Decoding never throws: a value that does not decode is answered with "this card is out of date".
 */
import { z } from 'zod';
import { DISPOSITIONS } from '../cotool/schemas.ts';
import { CARD_OPS } from './ids.ts';
import { LIMITS, oneLine, truncate } from './text.ts';

export const PAYLOAD_VERSION = 1;

/** Printable ASCII except `"` and `\`, so the JSON encoding is as long as the value (no escapes). */
const token = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[!#-[\]-~]+$/);
const alertId = token(64);
const updatedAt = token(40);
const channel = z.string().regex(/^[A-Z0-9]{2,32}$/);
const messageTs = z.string().regex(/^\d{1,12}\.\d{1,9}$/);

const ActionPayloadSchema = z.strictObject({
  v: z.literal(PAYLOAD_VERSION),
  op: z.enum(CARD_OPS),
  id: alertId,
  u: updatedAt,
  c: channel.optional(),
  t: messageTs.optional(),
});
/** `c`/`t`: the card's channel and message ts, when the value must outlive the message it sits in. */
export type ActionPayload = z.infer<typeof ActionPayloadSchema>;

const ModalMetaSchema = z.strictObject({
  v: z.literal(PAYLOAD_VERSION),
  id: alertId,
  u: updatedAt,
  c: channel.optional(),
  t: messageTs.optional(),
  d: z.enum(DISPOSITIONS).optional(),
});
export type Disposition = (typeof DISPOSITIONS)[number];
/** `c`/`t`: the card the modal was opened from; `d`: the disposition the close modal starts with. */
export type ModalMeta = z.infer<typeof ModalMetaSchema>;

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: 'malformed' | 'version' | 'too_long' };

/** Well above the longest value we encode (~200), well below Slack's 2000 for a button value. */
const MAX_ACTION_CHARS = 512;

function encodeWith<T>(schema: z.ZodType<T>, value: T, max: number): string {
  const json = JSON.stringify(schema.parse(value));
  if (json.length > max) throw new RangeError(`encoded payload is ${json.length} chars, over ${max}`);
  return json;
}

/**
 * Decodes a versioned JSON value with `schema`; never throws. A value without `v` is refused as
 * `unversioned` ('malformed' unless the caller counts it as another version).
 */
export function decodeWith<T>(
  schema: z.ZodType<T>,
  input: unknown,
  max: number,
  unversioned: 'malformed' | 'version' = 'malformed',
): DecodeResult<T> {
  if (typeof input !== 'string') return { ok: false, reason: 'malformed' };
  if (input.length > max) return { ok: false, reason: 'too_long' };
  let raw: unknown;
  try {
    raw = JSON.parse(input);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'malformed' };
  if (!Object.hasOwn(raw, 'v')) return { ok: false, reason: unversioned };
  if ((raw as { v: unknown }).v !== PAYLOAD_VERSION) return { ok: false, reason: 'version' };
  const parsed = schema.safeParse(raw);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, reason: 'malformed' };
}

/**
 * Compact JSON for a button or overflow option value. Without `c`/`t` the longest possible value
 * (64-char id, 40-char updatedAt, longest op) is 146 chars: within an overflow option's 150.
 * Throws on an invalid payload — that is a bug in the caller, not user input.
 */
export function encodeAction(p: ActionPayload): string {
  return encodeWith(ActionPayloadSchema, p, p.c || p.t ? LIMITS.buttonValue : LIMITS.overflowOptionValue);
}

export function decodeAction(s: unknown): DecodeResult<ActionPayload> {
  return decodeWith(ActionPayloadSchema, s, MAX_ACTION_CHARS);
}

/** Compact JSON for a modal's `private_metadata`. Throws on an invalid payload (a caller bug). */
export function encodeModalMeta(m: ModalMeta): string {
  return encodeWith(ModalMetaSchema, m, LIMITS.privateMetadata);
}

export function decodeModalMeta(s: unknown): DecodeResult<ModalMeta> {
  return decodeWith(ModalMetaSchema, s, LIMITS.privateMetadata);
}

// ---------------------------------------------------------------------------------------------
// The next moves (issue 14): the question DM, the answer and ask modals, mutes.

/** `@`, `<`, `>`, `&` and all non-ASCII written as `\uXXXX`: an encoded value is plain ASCII, never a token. */
const JSON_ESCAPED = /[@<>&\u007f-\uffff]/g;

function encodeAscii<T>(schema: z.ZodType<T>, value: T, max: number): string {
  const json = JSON.stringify(schema.parse(value)).replace(
    JSON_ESCAPED,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  if (json.length > max) throw new RangeError(`encoded payload is ${json.length} chars, over ${max}`);
  return json;
}

/** A question or mute id the bot made (a UUID today; any short printable token is accepted). */
const refId = token(64);
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
const NO_CONTROLS = /^[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** The longest detection name carried in a mute modal's metadata (the store keeps the whole name). */
export const MUTE_NAME_MAX = 100;
/** The longest detection key (`id:…` / `name:…`, src/core/mutes.ts) a mute modal carries. */
export const MUTE_KEY_MAX = 200;

const QuestionRefSchema = z.strictObject({ v: z.literal(PAYLOAD_VERSION), questionId: refId });
/** The Yes / No buttons of a question DM: which question (the answer is the button's action_id). */
export type QuestionRef = z.infer<typeof QuestionRefSchema>;

const AnswerMetaSchema = z.strictObject({
  v: z.literal(PAYLOAD_VERSION),
  questionId: refId,
  answer: z.enum(['yes', 'no']),
});
/** The answer modal's `private_metadata`: the question and the answer its button gave. */
export type AnswerMeta = z.infer<typeof AnswerMetaSchema>;

/** The ask-user modal's `private_metadata`: the card's modal metadata (alert, updatedAt, card channel/ts). */
export type AskMeta = ModalMeta;

const MuteMetaSchema = z.strictObject({
  v: z.literal(PAYLOAD_VERSION),
  /** The alert the mute was made from (its Cotool comment goes there); null from a digest group. */
  alertId: alertId.nullable(),
  /** The channel the mute holds in. */
  channel,
  /** Exactly as src/core/mutes.ts makes it (a name-keyed detection keeps its name's characters). */
  detectionKey: z.string().min(1).max(MUTE_KEY_MAX),
  /** For the modal's wording only (see muteName): one line, no control characters. */
  detectionName: z.string().min(1).max(MUTE_NAME_MAX).regex(NO_CONTROLS),
  /** The storm whose digest group the mute was made from; null from a card. */
  stormId: token(100).nullable(),
});
export type MuteMeta = z.infer<typeof MuteMetaSchema>;

/** A detection's name as a mute modal carries it: one line, no control characters, at most MUTE_NAME_MAX. */
export function muteName(name: string | null | undefined): string {
  const one = oneLine((name ?? '').toWellFormed().replace(CONTROL_CHARS, ' '));
  return truncate(one, MUTE_NAME_MAX) || 'Unnamed detection';
}

/** Whether a detection key (src/core/mutes.ts detectionKeyOf) fits in a mute modal's metadata. */
export const muteKeyFits = (key: string | null): key is string => key !== null && key.length <= MUTE_KEY_MAX;

const MuteRefSchema = z.strictObject({ v: z.literal(PAYLOAD_VERSION), muteId: refId });
/** The Unmute button of a mute in the list. */
export type MuteRef = z.infer<typeof MuteRefSchema>;

const DigestMuteSchema = z.strictObject({
  v: z.literal(PAYLOAD_VERSION),
  /** The storm and the group (as the digest's own buttons carry them). */
  s: token(100),
  g: z.string().min(1).max(200).regex(NO_CONTROLS),
});
/** "Mute detection…" on a digest group. */
export type DigestMute = z.infer<typeof DigestMuteSchema>;

/** Throws on an invalid payload (a caller bug). About 60 characters. */
export const encodeQuestionRef = (p: QuestionRef): string => encodeAscii(QuestionRefSchema, p, LIMITS.optionValue);
export const decodeQuestionRef = (s: unknown): DecodeResult<QuestionRef> =>
  decodeWith(QuestionRefSchema, s, LIMITS.optionValue);

export const encodeAnswerMeta = (m: AnswerMeta): string => encodeAscii(AnswerMetaSchema, m, LIMITS.optionValue);
export const decodeAnswerMeta = (s: unknown): DecodeResult<AnswerMeta> =>
  decodeWith(AnswerMetaSchema, s, LIMITS.optionValue);

export const encodeAskMeta = encodeModalMeta;
export const decodeAskMeta = decodeModalMeta;

/** Throws on an invalid payload; the longest possible value is about 2,000 characters. */
export const encodeMuteMeta = (m: MuteMeta): string => encodeAscii(MuteMetaSchema, m, LIMITS.privateMetadata);
export const decodeMuteMeta = (s: unknown): DecodeResult<MuteMeta> =>
  decodeWith(MuteMetaSchema, s, LIMITS.privateMetadata);

export const encodeMuteRef = (p: MuteRef): string => encodeAscii(MuteRefSchema, p, LIMITS.optionValue);
export const decodeMuteRef = (s: unknown): DecodeResult<MuteRef> => decodeWith(MuteRefSchema, s, LIMITS.optionValue);

/** Throws on an invalid payload; the longest possible value is about 1,350 characters. */
export const encodeDigestMute = (p: DigestMute): string => encodeAscii(DigestMuteSchema, p, LIMITS.buttonValue);
export const decodeDigestMute = (s: unknown): DecodeResult<DigestMute> =>
  decodeWith(DigestMuteSchema, s, LIMITS.buttonValue);
