import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSettings, type Settings } from './settings.js';

/** The folder holding package.json above this file. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** `LEADCYCLE_DATA_DIR`, else `<project root>/.leadcycle` (git-ignored): SQLite, outbox, stage changes, tools. */
export function resolveDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return dataDirOf(readSettings(env));
}

/** The data dir of settings already read. */
export function dataDirOf(settings: Pick<Settings, 'LEADCYCLE_DATA_DIR'>): string {
  return resolve(settings.LEADCYCLE_DATA_DIR ?? join(projectRoot(), '.leadcycle'));
}
