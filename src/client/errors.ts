import { describeIssues, type FieldIssue, LeadcycleError } from '../errors.js';
import type { LeadView, Rejection } from '../machines/index.js';

/** What can go wrong when an app drives a lead; each error is a value with a `code`, never a bare string. */
export type LeadErrorCode = 'validation' | 'rejected' | 'not_found' | 'stale_config';

/** A field of a command or a lead reference that does not match its schema. */
export type ValidationIssue = FieldIssue;

export class LeadError extends LeadcycleError<LeadErrorCode> {}

/** The command does not match its schema: nothing was sent to Temporal. */
export class LeadValidationError extends LeadError {
  constructor(readonly issues: ValidationIssue[]) {
    super('validation', describeIssues(issues, '(command)'));
  }
}

/** The machine refused the command in the lead's current stage; nothing changed. */
export class LeadCommandRejectedError extends LeadError {
  constructor(
    readonly rejection: Rejection,
    options?: ErrorOptions,
  ) {
    super('rejected', rejection.message, options);
  }
}

export class LeadNotFoundError extends LeadError {
  constructor(
    readonly leadKey: string,
    options?: ErrorOptions,
  ) {
    super('not_found', `no lead ${leadKey}`, options);
  }
}

/** A config version older than the one the lead runs (an overlapping rollout): the lead kept its own. */
export class StaleConfigVersionError extends LeadError {
  constructor(
    readonly version: number,
    readonly lead: LeadView,
    options?: ErrorOptions,
  ) {
    super(
      'stale_config',
      `config version ${version} is older than the lead's (${lead.configVersion})`,
      options,
    );
  }
}
