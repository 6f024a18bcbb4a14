/**
 * What travels with a four-eyes request's Approve / Reject buttons: the request's id only, versioned
 * and checked on the way back. Everything else (the alert, who asked, its state) is read from the
 * store and Cotool when the click arrives.
 */
import { z } from 'zod';
import { type DecodeResult, decodeWith, PAYLOAD_VERSION } from './payloads.ts';
import { LIMITS } from './text.ts';

const FourEyesButtonSchema = z.strictObject({
  v: z.literal(PAYLOAD_VERSION),
  op: z.enum(['approve', 'reject']),
  /** The request id (a UUID the bot made). */
  r: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
});
export type FourEyesButton = z.infer<typeof FourEyesButtonSchema>;

/** Compact JSON (about 70 characters). Throws on an invalid payload (a caller bug). */
export function encodeFourEyesButton(p: FourEyesButton): string {
  return JSON.stringify(FourEyesButtonSchema.parse(p));
}

/** Never throws: a value that does not decode is "out of date". */
export function decodeFourEyesButton(s: unknown): DecodeResult<FourEyesButton> {
  return decodeWith(FourEyesButtonSchema, s, LIMITS.optionValue);
}
