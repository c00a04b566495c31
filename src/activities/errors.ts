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

export type RetryableErrorCode = 'smtp_unavailable' | 'crm_unavailable';

/**
 * A failure worth retrying. Temporal records the class name as the failure type, hence one subclass
 * per code rather than a generic class.
 */
export abstract class RetryableActivityError<Code extends RetryableErrorCode> extends LeadcycleError<Code> {}

export class SmtpUnavailableError extends RetryableActivityError<'smtp_unavailable'> {
  constructor(
    message: string,
    readonly smtpCode: string | undefined,
    options?: ErrorOptions,
  ) {
    super('smtp_unavailable', message, options);
  }
}

export class CrmUnavailableError extends RetryableActivityError<'crm_unavailable'> {
  constructor(
    message: string,
    /** HTTP status, or null when no response came back (network error, timeout). */
    readonly status: number | null,
    options?: ErrorOptions,
  ) {
    super('crm_unavailable', message, options);
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
