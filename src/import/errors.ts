import { type FieldIssue, LeadcycleError } from '../errors.js';

export type ImportErrorCode =
  /** The mapping file (or the API's mapping) does not match its schema. */
  | 'invalid_mapping'
  /** The file's header lacks a column the mapping needs (the email, the external id). */
  | 'missing_column'
  /** The file is not CSV / NDJSON the parser can read (a stray quote, a broken JSON line). */
  | 'unreadable_file'
  /** A call failed for a reason that is not the row's (Temporal unreachable): the import stopped, resumable. */
  | 'import_interrupted'
  /** Another run of the same import holds its state file. */
  | 'import_running';

/** A problem of the whole import (not of one row: those go to the report). */
export class ImportError extends LeadcycleError<ImportErrorCode> {
  constructor(
    code: ImportErrorCode,
    message: string,
    readonly issues: FieldIssue[] = [],
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}
