/**
 * Dead letters: deliveries (an email, a CRM handoff) that failed for good, kept in
 * `<dataDir>/dead-letters.jsonl` beside the outbox until an operator retries them
 * (`leadcycle deliveries retry`). A JSON Lines file rather than the analytics store: a delivery that
 * fails for good is recorded even when SQLite is what broke.
 *
 * A record holds what the outbox would have held for the delivery (the activity input, to deliver it
 * again under the same key) and the far side's answer summarised: a status code and a short reason,
 * never the reply's body, which may echo the lead's data.
 */
import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import { z } from 'zod';
import type { PermanentFailure } from './errors.js';
import { readJsonl } from './jsonl.js';

export const DEAD_LETTERS_FILE = 'dead-letters.jsonl';

export const DEAD_LETTER_KINDS = ['email', 'crm'] as const;
export type DeadLetterKind = (typeof DEAD_LETTER_KINDS)[number];

export const DeadLetterSchema = z.object({
  /** The delivery's idempotency key: a retry delivers under it, so a receiver can still dedupe. */
  key: z.string().min(1),
  kind: z.enum(DEAD_LETTER_KINDS),
  /** When it failed for good (wall clock), ISO 8601. */
  at: z.iso.datetime(),
  workflowId: z.string(),
  leadKey: z.string(),
  /** The permanent failure's code (`crm_rejected`, `recipient_invalid`...) or `retries_exhausted`. */
  code: z.string().min(1),
  /** The answer summarised: `HTTP 400 Bad Request`, `SMTP 550 5.1.1`. No body, no address. */
  reason: z.string().max(200),
  /** Attempts made by Temporal before it was given up. */
  attempts: z.number().int().nonnegative(),
  /** The activity's input, as the workflow gave it: what a retry delivers. */
  input: z.record(z.string(), z.unknown()),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

/** The far side's answer in a few words, from a PermanentFailure's details (see crm.ts, content-sender.ts). */
export function replySummary(err: PermanentFailure): string {
  const d = (err.details?.[0] ?? {}) as Record<string, unknown>;
  if (typeof d.status === 'number') {
    const phrase = STATUS_CODES[d.status];
    return `HTTP ${d.status}${phrase ? ` ${phrase}` : ''}`;
  }
  if (typeof d.responseCode === 'number') {
    // The enhanced status code (RFC 3463) says why; the rest of the reply may name the recipient.
    const enhanced = typeof d.enhancedCode === 'string' ? ` ${d.enhancedCode}` : '';
    return `SMTP ${d.responseCode}${enhanced}`;
  }
  return err.code === 'recipient_invalid' ? 'not an email address' : err.code;
}

export interface DeadLetterQuery {
  kind?: DeadLetterKind;
  leadKey?: string;
}

/** The dead letters still open, oldest first (a retried one is removed from the file). */
export function readDeadLetters(dataDir: string, query: DeadLetterQuery = {}): Promise<DeadLetter[]> {
  const { kind, leadKey } = query;
  return readJsonl(
    join(dataDir, DEAD_LETTERS_FILE),
    DeadLetterSchema,
    (r) => (kind === undefined || r.kind === kind) && (leadKey === undefined || r.leadKey === leadKey),
  );
}
