/**
 * What a failed command tells its caller: the exit code (0 ok, 1 unexpected error, 2 invalid input,
 * 3 refused by the machine, 4 lead not found), a one-line message, and the `--json` body with a
 * stable `code` for scripts.
 */
import { InvalidArgumentError } from 'commander';
import { ReportParamsError } from '../analytics/index.js';
import { LeadCommandRejectedError, LeadNotFoundError, LeadValidationError } from '../client/index.js';
import { ConfigFileError } from '../config-file.js';
import { ConfigVersionError } from '../config-versions.js';
import { InvalidInputError, LeadcycleError } from '../errors.js';
import { ImportError } from '../import/errors.js';
import { SettingsError } from '../settings.js';
import { JourneyError } from '../simulator/journey.js';
import { flag } from './options.js';

export interface Failure {
  exitCode: number;
  message: string;
  body: { error: { code: string; message: string; issues?: unknown[]; rejection?: unknown } };
}

/** The stable code for scripts: leadcycle's own errors', and the analytics' (not LeadcycleErrors yet). */
function codeOf(err: unknown): string {
  return err instanceof LeadcycleError ? err.code : 'error';
}

function exitCodeOf(err: unknown): number {
  if (
    err instanceof LeadValidationError ||
    err instanceof InvalidArgumentError ||
    err instanceof InvalidInputError ||
    err instanceof ReportParamsError ||
    err instanceof ConfigFileError ||
    err instanceof JourneyError ||
    err instanceof SettingsError ||
    (err instanceof ConfigVersionError && err.code !== 'corrupt_config_version') ||
    // The file or its mapping is the caller's to fix; an interrupted import is resumed by a re-run.
    (err instanceof ImportError && err.code !== 'import_interrupted')
  )
    return 2;
  if (err instanceof LeadCommandRejectedError) return 3;
  if (err instanceof LeadNotFoundError) return 4;
  return 1;
}

export function failureOf(err: unknown): Failure {
  // Options and report parameters are named as the options that carry them.
  const options =
    err instanceof ReportParamsError || err instanceof InvalidInputError
      ? err.issues.map((i) => ({ option: flag(i.path), message: i.message }))
      : null;
  const message = options
    ? options.map((i) => `${i.option}: ${i.message}`).join('; ')
    : err instanceof Error
      ? err.message
      : String(err);
  const error: Failure['body']['error'] = { code: codeOf(err), message };
  if (options) error.issues = options;
  if (err instanceof LeadValidationError) error.issues = err.issues;
  if (
    err instanceof ConfigFileError ||
    err instanceof JourneyError ||
    err instanceof SettingsError ||
    err instanceof ConfigVersionError ||
    err instanceof ImportError
  )
    error.issues = err.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  if (err instanceof LeadCommandRejectedError) error.rejection = err.rejection;
  return { exitCode: exitCodeOf(err), message, body: { error } };
}
