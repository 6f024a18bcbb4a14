/**
 * Button values of the look-up surfaces: a list page's "More" (the query and the next offset) and a
 * row's "View" (the alert id). Versioned, compact JSON, checked with zod on the way back; a value
 * that does not decode is refused ("run the command again"), never trusted.
 */
import { z } from 'zod';
import { ALERT_STATUSES, SEVERITIES, SOURCE_NAMES } from '../core/alert.ts';
import { MAX_SEARCH_CHARS } from '../core/command.ts';
import { type DecodeResult, decodeWith, PAYLOAD_VERSION } from './payloads.ts';
import { LIMITS } from './text.ts';

/** Offsets beyond this are not pages anyone reaches by clicking "More". */
export const MAX_OFFSET = 10_000;

/** Control, zero-width and bidi characters: the parser drops them, so a value carrying them was not written by us. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
const NO_CONTROLS = /^[^\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]*$/;
/** Written as `\uXXXX` inside the JSON so a value never carries a broadcast word (`@here`) even unseen. */
const JSON_ESCAPED = /[@\u007f-\u009f\u2028\u2029]/g;

const ListPageSchema = z.strictObject({
  v: z.literal(PAYLOAD_VERSION),
  k: z.literal('page'),
  st: z.array(z.enum(ALERT_STATUSES)).max(ALERT_STATUSES.length),
  sv: z.array(z.enum(SEVERITIES)).max(SEVERITIES.length),
  so: z.array(z.enum(SOURCE_NAMES)).max(SOURCE_NAMES.length),
  q: z.string().min(1).max(MAX_SEARCH_CHARS).regex(NO_CONTROLS).optional(),
  o: z.number().int().min(0).max(MAX_OFFSET),
});
/** `st`/`sv`/`so`: status, severity and source filters; `q`: search text; `o`: the offset to show. */
export type ListPagePayload = z.infer<typeof ListPageSchema>;

const ViewSchema = z.strictObject({
  v: z.literal(PAYLOAD_VERSION),
  k: z.literal('view'),
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[!#-[\]-~]+$/),
});
export type ViewPayload = z.infer<typeof ViewSchema>;

export type LookupDecode<T> = DecodeResult<T>;

/** A value without a version counts as another version's (the log says 'version'). */
const decode = <T>(schema: z.ZodType<T>, input: unknown): LookupDecode<T> =>
  decodeWith(schema, input, LIMITS.buttonValue, 'version');

/** Throws on an invalid payload or one that would not fit a button value; callers render without the button. */
function encode<T>(schema: z.ZodType<T>, value: T): string {
  const json = JSON.stringify(schema.parse(value)).replace(
    JSON_ESCAPED,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  if (json.length > LIMITS.buttonValue) throw new RangeError(`encoded payload is ${json.length} chars`);
  return json;
}

export const encodeListPage = (p: ListPagePayload): string => encode(ListPageSchema, p);
export const decodeListPage = (s: unknown): LookupDecode<ListPagePayload> => decode(ListPageSchema, s);
export const encodeView = (p: ViewPayload): string => encode(ViewSchema, p);
export const decodeView = (s: unknown): LookupDecode<ViewPayload> => decode(ViewSchema, s);
