/**
 * What travels with the storm digest's buttons and its close-all modal: the storm, the group and, for
 * the alert list, the page. Versioned compact JSON, checked with zod on the way back; never trusted
 * (the listener re-reads the storm and its members from the store, and checks access, on every click).
 */
import { z } from 'zod';
import { type DecodeResult, decodeWith, PAYLOAD_VERSION } from './payloads.ts';
import { LIMITS } from './text.ts';

/** Pages of 10 beyond this are not reached by clicking "Next". */
export const MAX_PAGE = 2_000;

/** Printable ASCII except `"` and `\`, as the card payloads' ids. */
const stormId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[!#-[\]-~]+$/);
/** Control and bidi-override characters never occur in a key we wrote (see groupOf). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
const NO_CONTROLS = /^[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$/;
const groupKey = z.string().max(200).regex(NO_CONTROLS);

const DigestButtonSchema = z.strictObject({
  v: z.literal(PAYLOAD_VERSION),
  /** show: the paged alert list (Show alerts, Next, Previous); close: open the close-all modal. */
  k: z.enum(['show', 'close']),
  s: stormId,
  /** The group; absent: every group the digest does not show one by one ("all other"). */
  g: groupKey.optional(),
  /** The page of the list (0-based). */
  p: z.number().int().min(0).max(MAX_PAGE).optional(),
});
export type DigestButton = z.infer<typeof DigestButtonSchema>;

const CloseAllMetaSchema = z.strictObject({
  v: z.literal(PAYLOAD_VERSION),
  s: stormId,
  g: groupKey,
  /** How many live alerts the modal said it would close (the run closes those still live then). */
  n: z.number().int().min(0).max(1_000_000),
});
export type CloseAllMeta = z.infer<typeof CloseAllMetaSchema>;

/** `@`, `<`, `>`, `&` (no broadcast word or token even unseen) and all non-ASCII, written as `\uXXXX`. */
const JSON_ESCAPED = /[@<>&\u007f-\uffff]/g;

function encode<T>(schema: z.ZodType<T>, value: T, max: number): string {
  const json = JSON.stringify(schema.parse(value)).replace(
    JSON_ESCAPED,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  if (json.length > max) throw new RangeError(`encoded payload is ${json.length} chars, over ${max}`);
  return json;
}

/** Throws on an invalid payload (a caller bug); the longest possible value is ~1,350 chars. */
export const encodeDigestButton = (p: DigestButton): string => encode(DigestButtonSchema, p, LIMITS.buttonValue);
export const decodeDigestButton = (s: unknown): DecodeResult<DigestButton> =>
  decodeWith(DigestButtonSchema, s, LIMITS.buttonValue);
export const encodeCloseAllMeta = (m: CloseAllMeta): string => encode(CloseAllMetaSchema, m, LIMITS.privateMetadata);
export const decodeCloseAllMeta = (s: unknown): DecodeResult<CloseAllMeta> =>
  decodeWith(CloseAllMetaSchema, s, LIMITS.privateMetadata);
