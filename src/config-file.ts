import { readFile } from 'node:fs/promises';
import { type LeadcycleConfig, type LeadcycleConfigInput, LeadcycleConfigSchema } from './machines/index.js';

/** A config file that does not parse or validate: says which file, which field, and why. */
export class ConfigFileError extends Error {
  readonly code = 'invalid_config';
  constructor(
    readonly path: string,
    readonly issues: Array<{ path: string; message: string }>,
  ) {
    super(`${path}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigFileError';
  }
}

/** Loads and validates a JSON config file (LEADCYCLE_CONFIG); no file means the defaults. */
export async function loadConfigFile(path = process.env.LEADCYCLE_CONFIG): Promise<LeadcycleConfig> {
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
    throw new ConfigFileError(path, [{ path: '', message: (err as Error).message }]);
  }
  const parsed = LeadcycleConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigFileError(
      path,
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  return raw as LeadcycleConfigInput;
}
