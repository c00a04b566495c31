/**
 * The cursor of a lead listing: Temporal's next-page token, bound to the visibility query it pages
 * through (a token from one filter, handed to another, would page through the wrong list), as one
 * opaque base64url string for URLs and shells.
 */
import { createHash } from 'node:crypto';
import { LeadValidationError } from './errors.js';

/** Only the first 16 hex digits of the query's hash: enough to tell two filters apart, no more. */
const queryTag = (query: string) => createHash('sha256').update(query).digest('hex').slice(0, 16);

export function encodeCursor(query: string, token: Uint8Array): string {
  return Buffer.from(
    JSON.stringify({ q: queryTag(query), t: Buffer.from(token).toString('base64') }),
  ).toString('base64url');
}

/** The page token in `cursor`, checked against the query it was made for. */
export function decodeCursor(query: string, cursor: string): Uint8Array {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  const { q, t } = (parsed ?? {}) as { q?: unknown; t?: unknown };
  if (typeof q !== 'string' || typeof t !== 'string' || t.length === 0) {
    throw invalid('not a cursor this listing gave');
  }
  if (q !== queryTag(query)) throw invalid('the cursor belongs to a listing with other filters');
  return Buffer.from(t, 'base64');
}

const invalid = (message: string) => new LeadValidationError([{ path: ['cursor'], message }]);
