/**
 * Typed errors of the activities.
 *
 * The rule for choosing between the two kinds: a failure caused by *this message* (a recipient the
 * mail server refuses, a lead the CRM rejects) is permanent and fails the activity at once; a failure
 * caused by the *worker's surroundings* (a server down, a timeout, bad credentials an operator can fix
 * and redeploy) is retryable, so the effect goes through once the surroundings are fixed.
 */
import { ApplicationFailure } from '@temporalio/common';

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
export abstract class RetryableActivityError extends Error {
  abstract readonly code: RetryableErrorCode;
}

export class SmtpUnavailableError extends RetryableActivityError {
  override readonly name = 'SmtpUnavailableError';
  readonly code = 'smtp_unavailable';
  constructor(
    message: string,
    readonly smtpCode: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class CrmUnavailableError extends RetryableActivityError {
  override readonly name = 'CrmUnavailableError';
  readonly code = 'crm_unavailable';
  constructor(
    message: string,
    /** HTTP status, or null when no response came back (network error, timeout). */
    readonly status: number | null,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A JSON Lines store with a broken line that is not the last one: something other than a crash
 * mid-append wrote it, so we refuse to guess (skipping it could forget an idempotency key).
 */
export class CorruptStoreError extends Error {
  override readonly name = 'CorruptStoreError';
  readonly code = 'store_corrupt';
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}
