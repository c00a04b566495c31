/**
 * Typed errors of the activities.
 *
 * The rule for choosing between the two kinds: a failure caused by *this message* (a recipient the
 * mail server refuses, a lead the CRM rejects) is permanent and fails the activity at once; a failure
 * caused by the *worker's surroundings* (a server down, a timeout, bad credentials an operator can fix
 * and redeploy) is retryable, so the effect goes through once the surroundings are fixed.
 */
import { ApplicationFailure } from '@temporalio/common';
import { LeadcycleError } from '../errors.js';

export type PermanentFailureCode =
  | 'recipient_invalid'
  | 'smtp_rejected'
  | 'crm_rejected'
  /** A stage change whose idempotency key is not `<workflow id>/<sequence>`: a caller's bug. */
  | 'bad_effect_key';

/**
 * A permanent failure: Temporal does not retry it. Its `type` is the code, so a workflow can match
 * `err.cause.type === 'crm_rejected'` without importing this module.
 */
export class PermanentFailure extends ApplicationFailure {
  constructor(
    readonly code: PermanentFailureCode,
    message: string,
    details?: Record<string, unknown>,
    cause?: Error,
  ) {
    super(message, code, true, details ? [details] : undefined, cause);
  }
}

export type RetryableErrorCode = 'smtp_unavailable' | 'crm_unavailable' | 'dead_letter_unwritable';

/**
 * A failure worth retrying: an ApplicationFailure that is not non-retryable, so it can carry the
 * delay the far side asked for (`Retry-After`) as `nextRetryDelay`. Its `type` is the class name
 * (what Temporal showed before these were ApplicationFailures), its `code` the snake_case code.
 */
export abstract class RetryableActivityError<Code extends RetryableErrorCode> extends ApplicationFailure {
  constructor(
    readonly code: Code,
    message: string,
    options: { cause?: unknown; retryAfterMs?: number } = {},
  ) {
    const cause = options.cause instanceof Error ? options.cause : undefined;
    super(message, new.target.name, false, undefined, cause, options.retryAfterMs);
  }
}

export class SmtpUnavailableError extends RetryableActivityError<'smtp_unavailable'> {
  constructor(
    message: string,
    readonly smtpCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super('smtp_unavailable', message, options);
  }
}

export class CrmUnavailableError extends RetryableActivityError<'crm_unavailable'> {
  constructor(
    message: string,
    /** HTTP status, or null when no response came back (network error, timeout). */
    readonly status: number | null,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super('crm_unavailable', message, options);
  }
}

/**
 * A delivery failed for good but its dead letter could not be written (a full or read-only disk):
 * retried rather than dropped, so the delivery is attempted again and recorded once the disk is back.
 */
export class DeadLetterUnwritableError extends RetryableActivityError<'dead_letter_unwritable'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('dead_letter_unwritable', message, options);
  }
}

/**
 * A JSON Lines store with a broken line that is not the last one. The logs now skip such a line
 * (src/activities/jsonl.ts); kept for callers that refuse one.
 */
export class CorruptStoreError extends LeadcycleError<'store_corrupt'> {
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super('store_corrupt', `${file}:${line}: ${reason}`);
  }
}
