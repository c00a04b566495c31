/**
 * The data dir holds personal data (outbox, analytics, Temporal's database) and secrets: leadcycle
 * makes it 0700 and every file it writes there 0600, with explicit modes (not a umask, which would
 * reach every file the process writes), tightening what an older version left more open.
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Makes `dir` (and any missing parent) 0700, tightening one made before. */
export function ensurePrivateDirSync(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const stats = statSync(dir);
  if (needsChmod(stats, privateDirMode(stats.mode))) chmodSync(dir, privateDirMode(stats.mode));
}

/**
 * 0700, or 0710 left as it is: the local Temporal cluster lets the postgres user traverse the data
 * dir to its own folder (src/temporal/cluster.ts), which lists and reads nothing.
 */
function privateDirMode(mode: number): number {
  return (mode & 0o777) === 0o710 ? 0o710 : PRIVATE_DIR_MODE;
}

/**
 * Only our own, and only when it differs: a folder someone else owns (a shared mount point, /tmp
 * itself) cannot be changed by us and is theirs to set.
 */
function needsChmod(stats: { mode: number; uid: number }, mode: number): boolean {
  return (stats.mode & 0o777) !== mode && stats.uid === process.getuid?.();
}

/** Creates `file` empty with mode 0600 unless it exists, and tightens it to 0600 if it does. */
export function ensurePrivateFileSync(file: string): void {
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  tightenFileSync(file);
}

/** ensurePrivateDirSync, without blocking. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const stats = await stat(dir);
  if (needsChmod(stats, privateDirMode(stats.mode))) await chmod(dir, privateDirMode(stats.mode));
}

/** Tightens an existing file to 0600; a missing one is left missing. */
export function tightenFileSync(file: string): void {
  try {
    if (needsChmod(statSync(file), PRIVATE_FILE_MODE)) chmodSync(file, PRIVATE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
