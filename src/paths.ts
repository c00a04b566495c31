import { join, resolve } from 'node:path';
import { readSettings, type Settings } from './settings.js';

/**
 * `LEADCYCLE_DATA_DIR`, else `.leadcycle` in the working directory (git-ignored in a clone): SQLite,
 * outbox, stage changes, codec keys, tools. Never beside the code, which may be inside node_modules.
 */
export function resolveDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return dataDirOf(readSettings(env));
}

/** The data dir of settings already read. */
export function dataDirOf(settings: Pick<Settings, 'LEADCYCLE_DATA_DIR'>): string {
  return resolve(settings.LEADCYCLE_DATA_DIR ?? join(process.cwd(), '.leadcycle'));
}
