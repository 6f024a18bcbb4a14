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
import { LIMITS } from './text.ts';

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
