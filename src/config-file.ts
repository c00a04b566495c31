import { readFile } from 'node:fs/promises';
import { describeIssues, type FieldIssue, issuesOf, LeadcycleError } from './errors.js';
import { type LeadcycleConfig, type LeadcycleConfigInput, LeadcycleConfigSchema } from './machines/index.js';
import { readSettings } from './settings.js';

/** A config file that does not parse or validate: says which file, which field, and why. */
export class ConfigFileError extends LeadcycleError<'invalid_config'> {
  constructor(
    readonly path: string,
    readonly issues: FieldIssue[],
  ) {
    super('invalid_config', `${path}: ${describeIssues(issues, '(root)')}`);
  }
}

/** Loads and validates a JSON config file (LEADCYCLE_CONFIG); no file means the defaults. */
export async function loadConfigFile(path = readSettings().LEADCYCLE_CONFIG): Promise<LeadcycleConfig> {
  if (!path) return LeadcycleConfigSchema.parse({});
  return LeadcycleConfigSchema.parse(await readConfigOverrides(path));
}

/**
 * The file's own fields, checked as a whole config (errors name the file and the field), without
 * the defaults filled in: a what-if file lists only what it changes.
 */
export async function readConfigOverrides(path: string): Promise<LeadcycleConfigInput> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ConfigFileError(path, [{ path: [], message: (err as Error).message }]);
  }
  const parsed = LeadcycleConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigFileError(path, issuesOf(parsed.error));
  }
  return raw as LeadcycleConfigInput;
}
