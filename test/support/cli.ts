import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

/** tsx's loader by path: tests run the CLI in temp dirs, where a bare `--import tsx` does not resolve. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * `node` arguments that run the CLI from the sources (so a test sees the code under test, not a
 * dist/ built earlier); bin/leadcycle.js runs the same main() compiled, as test/package.test.ts shows.
 */
export const CLI = ['--import', TSX, fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const execFileAsync = promisify(execFile);

/** Runs the CLI from the sources with `env` added to this process's; its exit code, never a throw. */
export async function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync('node', [...CLI, ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as CliResult;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The environment that points the CLI at a test's dev server, task queue and data dir. */
export const cliEnvOf = (h: { taskQueue: string; dataDir: string }, address: string) => ({
  TEMPORAL_ADDRESS: address,
  LEADCYCLE_TASK_QUEUE: h.taskQueue,
  LEADCYCLE_DATA_DIR: h.dataDir,
});
